"""Tiny TCP tools run inside workload namespaces.
  tcp_echo.py serve PORT NAME     accept once, reply "NAME sha256-of-what-was-received"
  tcp_echo.py send HOST PORT N    send N random bytes, print "sha256 reply"
"""
import hashlib
import os
import socket
import sys

if sys.argv[1] == "serve":
    s = socket.socket(socket.AF_INET6 if ":" in os.environ.get("BIND", "") else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((os.environ.get("BIND", "0.0.0.0"), int(sys.argv[2])))
    s.listen(1)
    print("listening", flush=True)
    s.settimeout(30)
    c, _ = s.accept()
    h = hashlib.sha256()
    while True:
        d = c.recv(65536)
        if d == b"":
            break
        h.update(d)
    c.sendall(f"{sys.argv[3]} {h.hexdigest()}".encode())
    c.close()
else:
    data = os.urandom(int(sys.argv[4]))
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=20)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        reply += d
    print(hashlib.sha256(data).hexdigest(), reply.decode())
