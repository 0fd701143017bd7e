"""Usage: inject.py IFNAME HEXFRAME... — sends each frame on IFNAME (run inside a namespace)."""
import sys

from packets import send_raw

for frame in sys.argv[2:]:
    send_raw(sys.argv[1], bytes.fromhex(frame))
