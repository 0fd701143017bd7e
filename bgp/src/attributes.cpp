// Path attribute encoding/decoding with RFC 7606 error handling.
#include <algorithm>
#include <set>

#include "codec_internal.h"

namespace vrfabric::bgp {

using wire::ParseError;
using wire::Reader;
using wire::Writer;

// ---------------------------------------------------------------- PathAttributes helpers

size_t PathAttributes::asPathLength() const {
  size_t n = 0;
  for (const auto& s : asPath) n += s.type == AsPathSegment::kSet ? 1 : s.asns.size();
  return n;
}

std::optional<uint32_t> PathAttributes::neighborAs() const {
  for (const auto& s : asPath)
    if (s.type == AsPathSegment::kSequence && !s.asns.empty()) return s.asns.front();
  return std::nullopt;
}

bool PathAttributes::asPathContains(uint32_t as) const {
  for (const auto& s : asPath)
    if (std::find(s.asns.begin(), s.asns.end(), as) != s.asns.end()) return true;
  return false;
}

std::vector<ExtCommunity> PathAttributes::routeTargets() const {
  std::vector<ExtCommunity> out;
  for (const auto& c : extCommunities)
    if (c.isRouteTarget()) out.push_back(c);
  return out;
}

std::optional<uint32_t> PathAttributes::macMobilitySequence() const {
  for (const auto& c : extCommunities)
    if (c.isMacMobility()) return c.mobilitySequence();
  return std::nullopt;
}

void PathAttributes::prependAs(uint32_t as) {
  if (asPath.empty() || asPath.front().type != AsPathSegment::kSequence || asPath.front().asns.size() >= 255)
    asPath.insert(asPath.begin(), AsPathSegment{AsPathSegment::kSequence, {}});
  auto& seq = asPath.front().asns;
  seq.insert(seq.begin(), as);
}

namespace detail {

namespace {

constexpr uint16_t kAsTrans = 23456;  // RFC 6793

// Flags each known attribute must carry (optional/transitive bits only).
uint8_t expectedFlags(uint8_t type) {
  switch (type) {
    case attr::kOrigin:
    case attr::kAsPath:
    case attr::kNextHop:
    case attr::kLocalPref:
    case attr::kAtomicAggregate: return attr::kFlagTransitive;
    case attr::kMed:
    case attr::kOriginatorId:
    case attr::kClusterList:
    case attr::kMpReach:
    case attr::kMpUnreach: return attr::kFlagOptional;
    default: return attr::kFlagOptional | attr::kFlagTransitive;
  }
}

bool isKnown(uint8_t type) {
  switch (type) {
    case attr::kOrigin: case attr::kAsPath: case attr::kNextHop: case attr::kMed:
    case attr::kLocalPref: case attr::kAtomicAggregate: case attr::kAggregator:
    case attr::kCommunities: case attr::kOriginatorId: case attr::kClusterList:
    case attr::kMpReach: case attr::kMpUnreach: case attr::kExtCommunities:
    case attr::kAs4Path: case attr::kAs4Aggregator: case attr::kPmsiTunnel:
      return true;
    default:
      return false;
  }
}

void encodeAsPath(Writer& w, const std::vector<AsPathSegment>& path, bool fourOctet) {
  for (const auto& s : path) {
    w.u8(s.type);
    w.u8(uint8_t(s.asns.size()));
    for (auto as : s.asns) {
      if (fourOctet) w.u32(as);
      else w.u16(as > 0xffff ? kAsTrans : uint16_t(as));
    }
  }
}

bool needsAs4Path(const std::vector<AsPathSegment>& path) {
  for (const auto& s : path)
    for (auto as : s.asns)
      if (as > 0xffff) return true;
  return false;
}

std::vector<AsPathSegment> decodeAsPath(Reader& r, bool fourOctet) {
  std::vector<AsPathSegment> path;
  while (!r.empty()) {
    AsPathSegment s;
    s.type = r.u8();
    if (s.type != AsPathSegment::kSet && s.type != AsPathSegment::kSequence &&
        s.type != 3 && s.type != 4)  // 3/4: confederation segments (RFC 5065), kept as-is
      r.fail("bad AS_PATH segment type");
    uint8_t count = r.u8();
    if (count == 0) r.fail("empty AS_PATH segment");
    for (int i = 0; i < count; ++i) s.asns.push_back(fourOctet ? r.u32() : r.u16());
    path.push_back(std::move(s));
  }
  return path;
}

// RFC 6793 4.2.3: replace the trailing part of AS_PATH with AS4_PATH.
void mergeAs4Path(std::vector<AsPathSegment>& asPath, const std::vector<AsPathSegment>& as4) {
  size_t n2 = 0, n4 = 0;
  for (const auto& s : asPath) n2 += s.asns.size();
  for (const auto& s : as4) n4 += s.asns.size();
  if (n4 > n2) return;  // ignore AS4_PATH as the RFC says
  std::vector<AsPathSegment> merged;
  size_t keep = n2 - n4;
  for (const auto& s : asPath) {
    if (keep == 0) break;
    AsPathSegment part{s.type, {}};
    for (auto as : s.asns) {
      if (keep == 0) break;
      part.asns.push_back(as);
      --keep;
    }
    merged.push_back(std::move(part));
  }
  merged.insert(merged.end(), as4.begin(), as4.end());
  asPath = std::move(merged);
}

IpAddress decodeNextHop(Family f, Reader& r, size_t len, PathAttributes& a) {
  auto addr = [&](bool v6) {
    IpAddress x;
    x.v6 = v6;
    r.copy(x.bytes.data(), x.size());
    return x;
  };
  bool vpn = f == Family::Vpnv4 || f == Family::Vpnv6;
  if (vpn) {
    if (len != 12 && len != 24 && len != 48) r.fail("bad VPN next hop length");
    r.skip(8);  // RD of the next hop is always zero
    IpAddress nh = addr(len != 12);
    if (len == 48) {
      r.skip(8);
      a.nextHopLinkLocal = addr(true);
    }
    return nh;
  }
  if (len == 4) return addr(false);
  if (len == 16 || len == 32) {
    IpAddress nh = addr(true);
    if (len == 32) a.nextHopLinkLocal = addr(true);
    return nh;
  }
  r.fail("bad next hop length");
}

void decodeMpReach(Reader& r, UpdateMessage& m) {
  uint16_t afiV = r.u16();
  uint8_t safiV = r.u8();
  auto fam = familyFromAfiSafi(afiV, safiV);
  if (!fam) {
    // A family we never negotiate: RFC 4760 7 says ignore it.
    m.errors.push_back("MP_REACH for unsupported AFI " + std::to_string(afiV) + "/SAFI " + std::to_string(safiV) + " ignored");
    return;
  }
  uint8_t nhLen = r.u8();
  Reader nh = r.sub(nhLen);
  m.attrs.nextHop = decodeNextHop(*fam, nh, nhLen, m.attrs);
  r.u8();  // reserved (SNPA count in RFC 2858), ignored
  decodeNlriField(*fam, r, m.announced);
}

void decodeMpUnreach(Reader& r, UpdateMessage& m, bool& emptyUnreach, std::optional<Family>& unreachFamily) {
  uint16_t afiV = r.u16();
  uint8_t safiV = r.u8();
  auto fam = familyFromAfiSafi(afiV, safiV);
  if (!fam) {
    m.errors.push_back("MP_UNREACH for unsupported AFI/SAFI ignored");
    return;
  }
  unreachFamily = fam;
  emptyUnreach = r.empty();
  decodeNlriField(*fam, r, m.withdrawn);
}

uint32_t fixedU32(Reader& r, size_t len, const char* what) {
  if (len != 4) r.fail(std::string(what) + " length must be 4");
  return r.u32();
}

// The RFC 7606 action for an attribute whose value is malformed.
enum class Action { TreatAsWithdraw, Discard, Reset };

Action actionFor(uint8_t type) {
  switch (type) {
    case attr::kAtomicAggregate:
    case attr::kAggregator:
    case attr::kAs4Aggregator: return Action::Discard;             // RFC 7606 7.6, 7.7
    case attr::kMpReach:
    case attr::kMpUnreach: return Action::Reset;                    // RFC 7606 7.3 / 5.3
    default: return Action::TreatAsWithdraw;
  }
}

// Decodes one attribute value into m. Throws ParseError for malformed values.
void decodeOne(uint8_t flags, uint8_t type, Reader& v, const CodecContext& ctx, UpdateMessage& m,
               std::vector<AsPathSegment>& as4Path, bool& emptyUnreach,
               std::optional<Family>& unreachFamily) {
  PathAttributes& a = m.attrs;
  size_t len = v.left();
  switch (type) {
    case attr::kOrigin: {
      if (len != 1) v.fail("ORIGIN length must be 1");
      uint8_t o = v.u8();
      if (o > 2) v.fail("invalid ORIGIN value");
      a.origin = Origin(o);
      break;
    }
    case attr::kAsPath: a.asPath = decodeAsPath(v, ctx.as4); break;
    case attr::kAs4Path: as4Path = decodeAsPath(v, true); break;
    case attr::kNextHop: a.nextHop = IpAddress::v4(fixedU32(v, len, "NEXT_HOP")); break;
    case attr::kMed: a.med = fixedU32(v, len, "MED"); break;
    case attr::kLocalPref: a.localPref = fixedU32(v, len, "LOCAL_PREF"); break;
    case attr::kAtomicAggregate:
      if (len != 0) v.fail("ATOMIC_AGGREGATE length must be 0");
      a.atomicAggregate = true;
      break;
    case attr::kAggregator: {
      size_t want = ctx.as4 ? 8 : 6;
      if (len != want) v.fail("AGGREGATOR length wrong");
      Aggregator g;
      g.as = ctx.as4 ? v.u32() : v.u16();
      g.address = v.u32();
      a.aggregator = g;
      break;
    }
    case attr::kAs4Aggregator: {
      if (len != 8) v.fail("AS4_AGGREGATOR length must be 8");
      Aggregator g{v.u32(), v.u32()};
      if (!ctx.as4) a.aggregator = g;
      break;
    }
    case attr::kCommunities:
      if (len % 4) v.fail("COMMUNITIES length not a multiple of 4");
      while (!v.empty()) a.communities.push_back(v.u32());
      break;
    case attr::kOriginatorId: a.originatorId = fixedU32(v, len, "ORIGINATOR_ID"); break;
    case attr::kClusterList:
      if (len % 4 || len == 0) v.fail("CLUSTER_LIST length invalid");
      while (!v.empty()) a.clusterList.push_back(v.u32());
      break;
    case attr::kExtCommunities:
      if (len % 8) v.fail("EXTENDED_COMMUNITIES length not a multiple of 8");
      while (!v.empty()) {
        uint64_t hi = v.u32();
        a.extCommunities.push_back(ExtCommunity{hi << 32 | v.u32()});
      }
      break;
    case attr::kPmsiTunnel: {
      if (len < 5) v.fail("PMSI_TUNNEL too short");
      PmsiTunnel p;
      p.flags = v.u8();
      p.tunnelType = v.u8();
      p.label = v.u24();
      if (v.left() == 4 || v.left() == 16) {
        p.endpoint.v6 = v.left() == 16;
        v.copy(p.endpoint.bytes.data(), p.endpoint.size());
      } else if (p.tunnelType == PmsiTunnel::kIngressReplication) {
        v.fail("PMSI_TUNNEL ingress replication endpoint length invalid");
      } else {
        v.skip(v.left());  // other tunnel identifiers are not interpreted
      }
      a.pmsiTunnel = p;
      break;
    }
    case attr::kMpReach: decodeMpReach(v, m); break;
    case attr::kMpUnreach: decodeMpUnreach(v, m, emptyUnreach, unreachFamily); break;
    default:
      if (!(flags & attr::kFlagOptional))
        throw ParseError{err::kUpdate, err::kUnrecognizedWellKnown,
                         "unrecognized well-known attribute " + std::to_string(type)};
      a.unknown.push_back(RawAttribute{flags, type, std::vector<uint8_t>(v.cursor(), v.cursor() + len)});
      v.skip(len);
      break;
  }
  if (!v.empty()) v.fail("trailing bytes in attribute " + std::to_string(type));
}

void treatAsWithdraw(UpdateMessage& m, const std::string& why) {
  m.errors.push_back(why + " (treat-as-withdraw)");
  m.treatAsWithdraw = true;
}

}  // namespace

size_t beginAttribute(Writer& w, uint8_t flags, uint8_t type, bool extended) {
  w.u8(uint8_t(extended ? flags | attr::kFlagExtendedLength : flags & ~attr::kFlagExtendedLength));
  w.u8(type);
  size_t at = w.pos();
  if (extended) w.u16(0);
  else w.u8(0);
  return at;
}

void endAttribute(Writer& w, size_t lenAt, bool extended) {
  size_t len = w.pos() - lenAt - (extended ? 2 : 1);
  if (extended) w.patch16(lenAt, uint16_t(len));
  else w.patch8(lenAt, uint8_t(len));
}

namespace {

// Writes a whole attribute whose value is produced by fill(); picks extended length
// only when the value needs it, as FRR and GoBGP do.
template <typename Fill>
void putAttribute(Writer& w, uint8_t flags, uint8_t type, Fill fill) {
  std::vector<uint8_t> value;
  Writer vw(value);
  fill(vw);
  bool ext = value.size() > 255;
  size_t at = beginAttribute(w, flags, type, ext);
  w.bytes(value.data(), value.size());
  endAttribute(w, at, ext);
}

}  // namespace

void encodeAttributes(const PathAttributes& a, bool withNextHop, const CodecContext& ctx, Writer& w) {
  constexpr uint8_t kWellKnown = attr::kFlagTransitive;
  constexpr uint8_t kOptTrans = attr::kFlagOptional | attr::kFlagTransitive;
  constexpr uint8_t kOptNonTrans = attr::kFlagOptional;
  // Unknown attributes are interleaved in type order with the known ones.
  auto unknownIt = a.unknown.begin();
  auto flushUnknownBelow = [&](uint8_t type) {
    for (; unknownIt != a.unknown.end() && unknownIt->type < type; ++unknownIt) {
      const auto& u = *unknownIt;
      putAttribute(w, u.flags, u.type, [&](Writer& vw) { vw.bytes(u.value.data(), u.value.size()); });
    }
  };

  flushUnknownBelow(attr::kOrigin);
  putAttribute(w, kWellKnown, attr::kOrigin, [&](Writer& vw) { vw.u8(uint8_t(a.origin)); });
  putAttribute(w, kWellKnown, attr::kAsPath, [&](Writer& vw) { encodeAsPath(vw, a.asPath, ctx.as4); });
  if (withNextHop)
    putAttribute(w, kWellKnown, attr::kNextHop, [&](Writer& vw) { vw.u32(a.nextHop.v4Value()); });
  if (a.med) putAttribute(w, kOptNonTrans, attr::kMed, [&](Writer& vw) { vw.u32(*a.med); });
  if (a.localPref) putAttribute(w, kWellKnown, attr::kLocalPref, [&](Writer& vw) { vw.u32(*a.localPref); });
  if (a.atomicAggregate) putAttribute(w, kWellKnown, attr::kAtomicAggregate, [](Writer&) {});
  if (a.aggregator)
    putAttribute(w, kOptTrans, attr::kAggregator, [&](Writer& vw) {
      if (ctx.as4) vw.u32(a.aggregator->as);
      else vw.u16(a.aggregator->as > 0xffff ? kAsTrans : uint16_t(a.aggregator->as));
      vw.u32(a.aggregator->address);
    });
  if (!a.communities.empty())
    putAttribute(w, kOptTrans, attr::kCommunities, [&](Writer& vw) {
      for (auto c : a.communities) vw.u32(c);
    });
  if (a.originatorId) putAttribute(w, kOptNonTrans, attr::kOriginatorId, [&](Writer& vw) { vw.u32(*a.originatorId); });
  if (!a.clusterList.empty())
    putAttribute(w, kOptNonTrans, attr::kClusterList, [&](Writer& vw) {
      for (auto c : a.clusterList) vw.u32(c);
    });
  flushUnknownBelow(attr::kExtCommunities);
  if (!a.extCommunities.empty())
    putAttribute(w, kOptTrans, attr::kExtCommunities, [&](Writer& vw) {
      for (auto c : a.extCommunities) vw.u64(c.raw);
    });
  if (!ctx.as4 && needsAs4Path(a.asPath))
    putAttribute(w, kOptTrans, attr::kAs4Path, [&](Writer& vw) { encodeAsPath(vw, a.asPath, true); });
  flushUnknownBelow(attr::kPmsiTunnel);
  if (a.pmsiTunnel)
    putAttribute(w, kOptTrans, attr::kPmsiTunnel, [&](Writer& vw) {
      vw.u8(a.pmsiTunnel->flags);
      vw.u8(a.pmsiTunnel->tunnelType);
      vw.u24(a.pmsiTunnel->label);
      vw.bytes(a.pmsiTunnel->endpoint.bytes.data(), a.pmsiTunnel->endpoint.size());
    });
  flushUnknownBelow(255);
  if (unknownIt != a.unknown.end()) {
    const auto& u = *unknownIt;  // type 255
    putAttribute(w, u.flags, u.type, [&](Writer& vw) { vw.bytes(u.value.data(), u.value.size()); });
  }
}

void encodeMpNextHop(Family f, const PathAttributes& a, Writer& w) {
  IpAddress nh = a.nextHop;
  bool wantV6 = f == Family::Ipv6Unicast || f == Family::Vpnv6;
  if (wantV6 && !nh.v6) {
    // IPv4 next hop for an IPv6 family: IPv4-mapped IPv6 (RFC 4659 3.2.1.2)
    IpAddress m;
    m.v6 = true;
    m.bytes[10] = m.bytes[11] = 0xff;
    std::copy(nh.bytes.begin(), nh.bytes.begin() + 4, m.bytes.begin() + 12);
    nh = m;
  }
  bool vpn = f == Family::Vpnv4 || f == Family::Vpnv6;
  bool ll = nh.v6 && a.nextHopLinkLocal.has_value() && (f == Family::Ipv6Unicast || f == Family::Vpnv6);
  size_t len = (vpn ? 8 : 0) + nh.size() + (ll ? (vpn ? 24 : 16) : 0);
  w.u8(uint8_t(len));
  if (vpn) w.u64(0);
  w.bytes(nh.bytes.data(), nh.size());
  if (ll) {
    if (vpn) w.u64(0);
    w.bytes(a.nextHopLinkLocal->bytes.data(), 16);
  }
}

void decodeAttributes(Reader& r, bool ipv4NlriPresent, const CodecContext& ctx, UpdateMessage& m) {
  std::set<uint8_t> seen;
  std::vector<AsPathSegment> as4Path;
  bool emptyUnreach = false;
  std::optional<Family> unreachFamily;
  bool mpSeen = false;
  while (!r.empty()) {
    uint8_t flags, type;
    size_t len;
    try {
      flags = r.u8();
      type = r.u8();
      len = (flags & attr::kFlagExtendedLength) ? r.u16() : r.u8();
      if (len > r.left()) r.fail("attribute length overruns the attribute block");
    } catch (const ParseError& e) {
      // The rest of the block cannot be parsed (RFC 7606 4). Withdrawing is safe only
      // if every NLRI can still be located; without any NLRI found we must reset.
      if (!mpSeen && !ipv4NlriPresent)
        throw ParseError{err::kUpdate, err::kMalformedAttrList, e.reason};
      treatAsWithdraw(m, "malformed attribute list: " + e.reason);
      break;
    }
    Reader v = r.sub(len, err::kUpdate, err::kAttrLength);
    bool mp = type == attr::kMpReach || type == attr::kMpUnreach;
    mpSeen |= mp;
    if (!seen.insert(type).second) {
      if (mp) throw ParseError{err::kUpdate, err::kMalformedAttrList, "duplicate MP attribute"};
      m.errors.push_back("duplicate attribute " + std::to_string(type) + " discarded");  // RFC 7606 3.g
      continue;
    }
    // RFC 7606 3.c: Optional/Transitive bits conflicting with the attribute's definition.
    if (isKnown(type) && (flags & (attr::kFlagOptional | attr::kFlagTransitive)) != expectedFlags(type)) {
      if (mp) throw ParseError{err::kUpdate, err::kAttrFlags, "MP attribute flags wrong"};
      treatAsWithdraw(m, "attribute " + std::to_string(type) + " has wrong flags");
      continue;
    }
    try {
      decodeOne(flags, type, v, ctx, m, as4Path, emptyUnreach, unreachFamily);
    } catch (const ParseError& e) {
      if (e.subcode == err::kUnrecognizedWellKnown && e.code == err::kUpdate) throw;
      switch (actionFor(type)) {
        case Action::Reset: throw ParseError{err::kUpdate, err::kOptionalAttr, e.reason};
        case Action::Discard: m.errors.push_back(e.reason + " (attribute discarded)"); break;
        case Action::TreatAsWithdraw: treatAsWithdraw(m, e.reason); break;
      }
    }
  }
  if (!as4Path.empty() && !ctx.as4) mergeAs4Path(m.attrs.asPath, as4Path);

  bool reach = !m.announced.empty() || ipv4NlriPresent;
  if (reach && !m.treatAsWithdraw) {
    // RFC 7606 3.d: a missing mandatory attribute means treat-as-withdraw.
    if (!seen.count(attr::kOrigin)) treatAsWithdraw(m, "missing ORIGIN");
    else if (!seen.count(attr::kAsPath)) treatAsWithdraw(m, "missing AS_PATH");
    else if (ipv4NlriPresent && !seen.count(attr::kNextHop)) treatAsWithdraw(m, "missing NEXT_HOP");
  }
  // RFC 4724 2: an UPDATE whose only attribute is an empty MP_UNREACH is End-of-RIB.
  if (emptyUnreach && seen.size() == 1 && m.withdrawn.empty()) m.endOfRib = unreachFamily;
}

}  // namespace detail
}  // namespace vrfabric::bgp
