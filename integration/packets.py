"""Raw frames for tests: built byte by byte so they can be as wrong as a test needs."""
import socket
import struct


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, ethertype):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype)


def ipv4(src, dst, proto, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, next_header, payload, hops=64):
    return (struct.pack("!IHBB", 0x60000000, len(payload), next_header, hops) + socket.inet_pton(socket.AF_INET6, src)
            + socket.inet_pton(socket.AF_INET6, dst) + payload)


def icmp6(src, dst, body):
    """An ICMPv6 message (type, code, then the rest) with its checksum over the pseudo-header."""
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
              + struct.pack("!IxxxB", len(body), 58))
    body = body[:2] + b"\0\0" + body[4:]
    return body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]


def icmp6_echo(src, dst, ident=1, seq=1, data=b"vrfabric"):
    return icmp6(src, dst, struct.pack("!BBHHH", 128, 0, 0, ident, seq) + data)


def neighbor_advert(src, dst, target, mac, flags=0x20):
    """Unsolicited NA (override flag by default) for TARGET with a target link-layer option."""
    body = struct.pack("!BBHB3x", 136, 0, 0, flags) + socket.inet_pton(socket.AF_INET6, target)
    return icmp6(src, dst, body + b"\x02\x01" + mac_bytes(mac))


def arp(op, sha, spa, tha, tpa):
    return (struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac_bytes(sha) + socket.inet_aton(spa) + mac_bytes(tha)
            + socket.inet_aton(tpa))


def tcp_syn(sport, dport):
    """A TCP SYN header (checksum left 0: only the forwarder's verdict on it matters)."""
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def vxlan(vni, inner, flags=0x08):
    return struct.pack("!B3xI", flags, vni << 8) + inner


def mpls(label, inner, bos=True, ttl=64):
    return struct.pack("!I", (label << 12) | (int(bos) << 8) | ttl) + inner


def gre(proto, payload, flags=0):
    return struct.pack("!HH", flags, proto) + payload


def icmp_echo(ident=1, seq=1, data=b"vrfabric"):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def send_raw(ifname, frame):
    """Puts one frame on a link of the calling process's namespace."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    s.send(frame)
    s.close()
