// NLRI encoding/decoding for every family, plus route keys and printing.
#include <functional>
#include <string_view>

#include "codec_internal.h"

namespace vrfabric::bgp {

namespace {

using wire::Reader;
using wire::Writer;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ---- encoding helpers ----

void putPrefixBits(Writer& w, const Prefix& p) {
  w.bytes(p.addr.bytes.data(), (p.length + 7) / 8);
}
void putAddr(Writer& w, const IpAddress& a) { w.bytes(a.bytes.data(), a.size()); }
void putRd(Writer& w, const RouteDistinguisher& rd) { w.bytes(rd.bytes.data(), 8); }
void putEsi(Writer& w, const Esi& e) { w.bytes(e.bytes.data(), 10); }

// EVPN addresses are prefixed with their length in bits.
void putLengthAndAddr(Writer& w, const IpAddress& a) {
  w.u8(uint8_t(a.size() * 8));
  putAddr(w, a);
}

void encodeEvpnBody(const Nlri& n, Writer& w) {
  std::visit(Overloaded{
                 [&](const EvpnEthernetAd& r) {
                   putRd(w, r.rd); putEsi(w, r.esi); w.u32(r.ethTag); w.u24(r.label);
                 },
                 [&](const EvpnMacIp& r) {
                   putRd(w, r.rd); putEsi(w, r.esi); w.u32(r.ethTag);
                   w.u8(48); w.bytes(r.mac.bytes.data(), 6);
                   if (r.ip) putLengthAndAddr(w, *r.ip); else w.u8(0);
                   w.u24(r.label);
                   if (r.label2) w.u24(*r.label2);
                 },
                 [&](const EvpnMulticast& r) {
                   putRd(w, r.rd); w.u32(r.ethTag); putLengthAndAddr(w, r.originator);
                 },
                 [&](const EvpnEthernetSegment& r) {
                   putRd(w, r.rd); putEsi(w, r.esi); putLengthAndAddr(w, r.originator);
                 },
                 [&](const EvpnIpPrefix& r) {
                   putRd(w, r.rd); putEsi(w, r.esi); w.u32(r.ethTag);
                   w.u8(r.prefix.length); putAddr(w, r.prefix.addr);
                   IpAddress gw = r.gateway;
                   gw.v6 = r.prefix.addr.v6;  // gateway width follows the prefix (RFC 9136 3.1)
                   putAddr(w, gw); w.u24(r.label);
                 },
                 [](const auto&) {},
             },
             n);
}

// ---- decoding helpers ----

IpAddress getAddr(Reader& r, bool v6) {
  IpAddress a;
  a.v6 = v6;
  r.copy(a.bytes.data(), a.size());
  return a;
}

RouteDistinguisher getRd(Reader& r) {
  RouteDistinguisher rd;
  r.copy(rd.bytes.data(), 8);
  return rd;
}

Esi getEsi(Reader& r) {
  Esi e;
  r.copy(e.bytes.data(), 10);
  return e;
}

IpAddress getLengthAndAddr(Reader& r) {
  uint8_t bits = r.u8();
  if (bits != 32 && bits != 128) r.fail("EVPN IP length must be 32 or 128");
  return getAddr(r, bits == 128);
}

// A prefix of `bits` from the reader into an address of the given width.
Prefix getPrefixBits(Reader& r, unsigned bits, bool v6) {
  Prefix p;
  p.addr.v6 = v6;
  if (bits > p.addr.size() * 8) r.fail("prefix length too long");
  p.length = uint8_t(bits);
  r.copy(p.addr.bytes.data(), (bits + 7) / 8);
  p.normalize();
  return p;
}

void decodeEvpnRoute(uint8_t type, Reader& r, std::vector<Nlri>& out) {
  switch (type) {
    case 1: {
      EvpnEthernetAd a;
      a.rd = getRd(r); a.esi = getEsi(r); a.ethTag = r.u32(); a.label = r.u24();
      out.push_back(a);
      break;
    }
    case 2: {
      EvpnMacIp m;
      m.rd = getRd(r); m.esi = getEsi(r); m.ethTag = r.u32();
      if (r.u8() != 48) r.fail("EVPN MAC length must be 48");
      r.copy(m.mac.bytes.data(), 6);
      uint8_t ipBits = r.u8();
      if (ipBits == 32 || ipBits == 128) m.ip = getAddr(r, ipBits == 128);
      else if (ipBits != 0) r.fail("EVPN type-2 IP length invalid");
      m.label = r.u24();
      if (!r.empty()) m.label2 = r.u24();
      out.push_back(m);
      break;
    }
    case 3: {
      EvpnMulticast m;
      m.rd = getRd(r); m.ethTag = r.u32(); m.originator = getLengthAndAddr(r);
      out.push_back(m);
      break;
    }
    case 4: {
      EvpnEthernetSegment s;
      s.rd = getRd(r); s.esi = getEsi(r); s.originator = getLengthAndAddr(r);
      out.push_back(s);
      break;
    }
    case 5: {
      EvpnIpPrefix p;
      // RFC 9136: the length of the route tells IPv4 (34) from IPv6 (58).
      bool v6 = r.left() == 58;
      if (!v6 && r.left() != 34) r.fail("EVPN type-5 length must be 34 or 58");
      p.rd = getRd(r); p.esi = getEsi(r); p.ethTag = r.u32();
      uint8_t bits = r.u8();
      p.prefix.addr = getAddr(r, v6);
      if (bits > p.prefix.addr.size() * 8) r.fail("EVPN type-5 prefix length invalid");
      p.prefix.length = bits;
      p.prefix.normalize();
      p.gateway = getAddr(r, v6);
      p.label = r.u24();
      out.push_back(p);
      break;
    }
    default:
      return;  // unknown route type: ignored, not an error (RFC 7606 5.4)
  }
  if (!r.empty()) r.fail("trailing bytes in EVPN route");
}

void decodeVpnPrefix(Reader& r, bool v6, std::vector<Nlri>& out) {
  unsigned bits = r.u8();
  VpnPrefix v;
  // One label: without the RFC 8277 Multiple Labels capability a stack is invalid.
  // Withdrawals may carry 0x800000 or 0 (RFC 8277 2.4), which have no BOS bit.
  if (bits < 24 + 64) r.fail("VPN NLRI too short for its label and RD");
  v.label = r.u24();
  if (!(v.label & 1) && v.label != 0x800000 && v.label != 0) r.fail("VPN label stack without bottom-of-stack");
  v.rd = getRd(r);
  v.prefix = getPrefixBits(r, bits - 24 - 64, v6);
  out.push_back(v);
}

void decodeRtMembership(Reader& r, std::vector<Nlri>& out) {
  unsigned bits = r.u8();
  RtMembership m;
  m.lengthBits = uint8_t(bits);
  if (bits == 0) {
    out.push_back(m);
    return;
  }
  if (bits < 32 || bits > 96) r.fail("RT membership length must be 0 or 32..96");
  m.originAs = r.u32();
  uint8_t rt[8] = {};
  r.copy(rt, (m.targetBits() + 7) / 8);
  uint64_t v = 0;
  for (auto b : rt) v = v << 8 | b;
  m.routeTarget.raw = v;
  out.push_back(m);
}

}  // namespace

// ---------------------------------------------------------------- public helpers

Family familyOf(const Nlri& n) {
  return std::visit(Overloaded{
                        [](const Prefix& p) { return p.addr.v6 ? Family::Ipv6Unicast : Family::Ipv4Unicast; },
                        [](const VpnPrefix& p) { return p.prefix.addr.v6 ? Family::Vpnv6 : Family::Vpnv4; },
                        [](const RtMembership&) { return Family::RtConstraint; },
                        [](const auto&) { return Family::Evpn; },
                    },
                    n);
}

int evpnRouteType(const Nlri& n) {
  switch (n.index()) {
    case 2: return 1;
    case 3: return 2;
    case 4: return 3;
    case 5: return 4;
    case 6: return 5;
    default: return 0;
  }
}

std::string nlriString(const Nlri& n) {
  return std::visit(
      Overloaded{
          [](const Prefix& p) { return p.str(); },
          [](const VpnPrefix& p) { return p.rd.str() + ":" + p.prefix.str(); },
          [](const EvpnEthernetAd& r) {
            return "[1]:[" + r.rd.str() + "]:[" + r.esi.str() + "]:[" + std::to_string(r.ethTag) + "]";
          },
          [](const EvpnMacIp& r) {
            return "[2]:[" + r.rd.str() + "]:[" + std::to_string(r.ethTag) + "]:[" + r.mac.str() + "]:[" +
                   (r.ip ? r.ip->str() : "") + "]";
          },
          [](const EvpnMulticast& r) {
            return "[3]:[" + r.rd.str() + "]:[" + std::to_string(r.ethTag) + "]:[" + r.originator.str() + "]";
          },
          [](const EvpnEthernetSegment& r) {
            return "[4]:[" + r.rd.str() + "]:[" + r.esi.str() + "]:[" + r.originator.str() + "]";
          },
          [](const EvpnIpPrefix& r) {
            return "[5]:[" + r.rd.str() + "]:[" + std::to_string(r.ethTag) + "]:[" + r.prefix.str() + "]";
          },
          [](const RtMembership& r) {
            if (r.isDefault()) return std::string("default");
            return std::to_string(r.originAs) + ":" + r.routeTarget.str();
          },
      },
      n);
}

Nlri routeKey(const Nlri& n) {
  Nlri k = n;
  std::visit(Overloaded{
                 [](VpnPrefix& p) { p.label = 0; },
                 [](EvpnEthernetAd& r) { r.label = 0; },
                 [](EvpnMacIp& r) { r.label = 0; r.label2.reset(); r.esi = {}; },
                 [](EvpnIpPrefix& r) { r.label = 0; r.esi = {}; r.gateway = {}; },
                 [](auto&) {},
             },
             k);
  return k;
}

size_t NlriHash::operator()(const Nlri& n) const {
  // Hash the wire form: cheap, and consistent with equality for canonical NLRIs.
  thread_local std::vector<uint8_t> buf;
  buf.clear();
  encodeNlri(n, buf);
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

void encodeNlri(const Nlri& n, std::vector<uint8_t>& out) {
  Writer w(out);
  std::visit(Overloaded{
                 [&](const Prefix& p) {
                   w.u8(p.length);
                   putPrefixBits(w, p);
                 },
                 [&](const VpnPrefix& p) {
                   w.u8(uint8_t(24 + 64 + p.prefix.length));
                   w.u24(p.label);
                   putRd(w, p.rd);
                   putPrefixBits(w, p.prefix);
                 },
                 [&](const RtMembership& m) {
                   w.u8(m.lengthBits);
                   if (m.isDefault()) return;
                   w.u32(m.originAs);
                   for (unsigned i = 0; i < (m.targetBits() + 7u) / 8; ++i)
                     w.u8(uint8_t(m.routeTarget.raw >> (56 - 8 * i)));
                 },
                 [&](const auto&) {
                   w.u8(uint8_t(evpnRouteType(n)));
                   size_t lenAt = w.pos();
                   w.u8(0);
                   encodeEvpnBody(n, w);
                   w.patch8(lenAt, uint8_t(w.pos() - lenAt - 1));
                 },
             },
             n);
}

namespace detail {

void decodeNlriField(Family f, Reader& r, std::vector<Nlri>& out) {
  while (!r.empty()) {
    switch (f) {
      case Family::Ipv4Unicast:
      case Family::Ipv6Unicast: {
        unsigned bits = r.u8();
        out.push_back(getPrefixBits(r, bits, f == Family::Ipv6Unicast));
        break;
      }
      case Family::Vpnv4:
      case Family::Vpnv6: decodeVpnPrefix(r, f == Family::Vpnv6, out); break;
      case Family::RtConstraint: decodeRtMembership(r, out); break;
      case Family::Evpn: {
        uint8_t type = r.u8();
        uint8_t len = r.u8();
        Reader body = r.sub(len);
        decodeEvpnRoute(type, body, out);
        break;
      }
    }
  }
}

}  // namespace detail
}  // namespace vrfabric::bgp
