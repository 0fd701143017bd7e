"""Host-to-host packet rate over VXLAN: the vrfabric XDP forwarder versus the Linux bridge +
kernel VXLAN device, between the same kind of namespaces, with the same generator
(vr-trafficgen: XDP live frames out of the sending workload's eth0) and the same 64-byte
UDP frames. Counts what the receiving workload's eth0 actually got.

usage: fabric_pps.py BUILD_DIR [PACKETS]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from harness import IP, Fabric, Workload, sh  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
PACKETS = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
GEN = f"{BUILD}/bench/forwarder/vr-trafficgen"
MAC1, MAC2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def rx_packets(ns, dev="eth0"):
    return int(sh("cat", f"/sys/class/net/{dev}/statistics/rx_packets", ns=ns).stdout)


def blast(src_ns, dst_ns):
    before = rx_packets(dst_ns)
    out = sh(GEN, src_ns, "eth0", MAC2, MAC1, "10.1.1.1", "10.1.1.2", PACKETS, timeout=600).stdout.split()
    sent, secs = int(out[0]), float(out[1])
    sh("sleep", "0.5")
    got = rx_packets(dst_ns) - before
    return sent, got, secs


def vrfabric_path(encap):
    with Fabric(2, agent_bin=f"{BUILD}/daemon/vr-agent", direct=True) as f:
        h1, h2 = f.hosts
        for h in f.hosts:
            h.api("vrf.add", name="red", vni=100)
        w1 = Workload(h1, "red", "w1", MAC1, ["10.1.1.1/24"])
        w2 = Workload(h2, "red", "w2", MAC2, ["10.1.1.2/24"])
        h1.api("endpoint.add", vrf="red", mac=MAC2, ips=["10.1.1.2"], remote=h2.fabric_ip, encap=encap,
               label=100 if encap == "vxlan" else w2.label)
        result = blast(w1.ns, w2.ns)
        c1, c2 = h1.counters(), h2.counters()
        assert c1[f"encap_{encap}"] > 0 and c2[f"decap_{encap}"] > 0, "the forwarder did not carry the traffic"
        return result


def kernel_path():
    with Fabric(2, direct=True) as f:
        h1, h2 = f.hosts
        ws = []
        for h, other, mac, addr in ((h1, h2, MAC1, "10.1.1.1/24"), (h2, h1, MAC2, "10.1.1.2/24")):
            ns = f"{f.prefix}-k{h.index}"
            f.track_ns(ns)
            sh(IP, "netns", "add", ns)
            sh(IP, "link", "add", "br0", "type", "bridge", ns=h.name)
            sh(IP, "link", "add", "vxlan100", "type", "vxlan", "id", 100, "local", h.fabric_ip, "dstport", 4789,
               "nolearning", ns=h.name)
            sh(IP, "link", "set", "vxlan100", "master", "br0", "up", ns=h.name)
            sh(IP, "link", "add", "wl", "type", "veth", "peer", "name", "eth0", "netns", ns, ns=h.name)
            sh(IP, "link", "set", "wl", "master", "br0", "up", ns=h.name)
            sh(IP, "link", "set", "br0", "up", ns=h.name)
            # NAPI on the bridge port, so frames the generator XDP_TXes into the pair are taken.
            sh("ethtool", "-K", "wl", "gro", "on", ns=h.name)
            sh(IP, "link", "set", "eth0", "address", mac, "up", ns=ns)
            sh(IP, "addr", "add", addr, "dev", "eth0", ns=ns)
            peer_mac = MAC2 if mac == MAC1 else MAC1
            sh("bridge", "fdb", "add", peer_mac, "dev", "vxlan100", "dst", other.fabric_ip, "static", ns=h.name)
            ws.append(ns)
        return blast(ws[0], ws[1])


def main():
    rows = [("vrfabric XDP, VXLAN", vrfabric_path("vxlan")),
            ("vrfabric XDP, MPLSoUDP", vrfabric_path("mplsudp")),
            ("Linux bridge + kernel VXLAN", kernel_path())]
    print(f"\nHost-to-host, 64-byte UDP frames, {PACKETS} offered per path, one sender core:")
    print(f"{'path':30} {'offered':>10} {'delivered':>10} {'seconds':>8} {'delivered pps':>14}")
    rates = {}
    for name, (sent, got, secs) in rows:
        rates[name] = got / secs
        print(f"{name:30} {sent:>10} {got:>10} {secs:>8.2f} {got / secs:>14,.0f}")
    base = rates["Linux bridge + kernel VXLAN"]
    print(f"\nvrfabric VXLAN / kernel VXLAN: {rates['vrfabric XDP, VXLAN'] / base:.2f}x")


if __name__ == "__main__":
    main()
