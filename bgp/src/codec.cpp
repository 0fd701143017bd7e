// Message framing, OPEN/UPDATE/NOTIFICATION/KEEPALIVE/ROUTE-REFRESH codec.
#include "vrfabric/bgp/codec.h"

#include <algorithm>

#include "codec_internal.h"

namespace vrfabric::bgp {

using wire::ParseError;
using wire::Reader;
using wire::Writer;

namespace {

// ---------------------------------------------------------------- framing

size_t beginMessage(Writer& w, MessageType t) {
  size_t start = w.pos();
  for (int i = 0; i < 16; ++i) w.u8(0xff);
  w.u16(0);
  w.u8(uint8_t(t));
  return start;
}

void endMessage(Writer& w, size_t start) { w.patch16(start + 16, uint16_t(w.pos() - start)); }

// Minimum length of each message type including the header (RFC 4271 4.x, RFC 2918 3).
size_t minLength(uint8_t type) {
  switch (type) {
    case 1: return 29;
    case 2: return 23;
    case 3: return 21;
    case 4: return 19;
    case 5: return 23;
    default: return 0;
  }
}

// ---------------------------------------------------------------- OPEN

void encodeCapability(Writer& w, uint8_t code, const std::vector<uint8_t>& value) {
  w.u8(code);
  w.u8(uint8_t(value.size()));
  w.bytes(value.data(), value.size());
}

std::vector<uint8_t> afiSafiValue(Family f, uint8_t middle) {
  uint16_t a = afiOf(f);
  return {uint8_t(a >> 8), uint8_t(a), middle, safiOf(f)};
}

OpenMessage decodeOpen(Reader& r) {
  OpenMessage o;
  o.version = r.u8();
  if (o.version != 4)
    throw ParseError{err::kOpen, err::kUnsupportedVersion, "unsupported BGP version " + std::to_string(o.version)};
  o.myAs = r.u16();
  o.holdTime = r.u16();
  if (o.holdTime == 1 || o.holdTime == 2)
    throw ParseError{err::kOpen, err::kUnacceptableHoldTime, "hold time 1 or 2 is not allowed"};
  o.bgpId = r.u32();
  if (o.bgpId == 0) throw ParseError{err::kOpen, err::kBadBgpId, "BGP identifier is zero"};
  uint8_t optLen = r.u8();
  if (optLen != r.left()) throw ParseError{err::kOpen, 0, "optional parameters length mismatch"};
  while (!r.empty()) {
    uint8_t ptype = r.u8();
    uint8_t plen = r.u8();
    Reader p = r.sub(plen);
    if (ptype != 2) throw ParseError{err::kOpen, err::kUnsupportedOptParam, "optional parameter " + std::to_string(ptype)};
    while (!p.empty()) {
      uint8_t code = p.u8();
      uint8_t clen = p.u8();
      Reader c = p.sub(clen);
      switch (code) {
        case cap::kMultiprotocol: {
          if (clen != 4) c.fail("multiprotocol capability length must be 4");
          uint16_t a = c.u16();
          c.u8();
          uint8_t s = c.u8();
          if (auto f = familyFromAfiSafi(a, s)) o.families.push_back(*f);
          else o.otherCapabilities.push_back({code, {uint8_t(a >> 8), uint8_t(a), 0, s}});
          break;
        }
        case cap::kRouteRefresh:
        case cap::kCiscoRouteRefresh: o.routeRefresh = true; c.skip(c.left()); break;
        case cap::kAs4:
          if (clen != 4) c.fail("4-octet AS capability length must be 4");
          o.as4 = true;
          o.myAs = c.u32();
          break;
        case cap::kGracefulRestart: {
          GracefulRestartCapability gr;
          uint16_t v = c.u16();
          gr.restartState = v & 0x8000;
          gr.restartTime = v & 0x0fff;
          while (c.left() >= 4) {
            uint16_t a = c.u16();
            uint8_t s = c.u8();
            uint8_t fl = c.u8();
            if (auto f = familyFromAfiSafi(a, s)) gr.families.push_back({*f, bool(fl & 0x80)});
          }
          c.skip(c.left());
          o.gracefulRestart = gr;
          break;
        }
        default:
          o.otherCapabilities.push_back({code, std::vector<uint8_t>(c.cursor(), c.cursor() + clen)});
          c.skip(clen);
      }
    }
  }
  return o;
}

// ---------------------------------------------------------------- UPDATE

void decodePrefixes(Reader& r, std::vector<Nlri>& out) { detail::decodeNlriField(Family::Ipv4Unicast, r, out); }

UpdateMessage decodeUpdate(Reader& r, const CodecContext& ctx) {
  UpdateMessage m;
  uint16_t wlen = r.u16();
  if (wlen > r.left()) r.fail("withdrawn routes length overruns the message");
  // RFC 7606 5.3: an unparseable NLRI/withdrawn field means session reset.
  Reader wr = r.sub(wlen, err::kUpdate, err::kInvalidNetwork);
  decodePrefixes(wr, m.withdrawn);
  uint16_t alen = r.u16();
  if (alen > r.left()) r.fail("total path attribute length overruns the message");
  Reader ar = r.sub(alen, err::kUpdate, err::kMalformedAttrList);
  Reader nr = r.sub(r.left(), err::kUpdate, err::kInvalidNetwork);
  std::vector<Nlri> ipv4;
  decodePrefixes(nr, ipv4);
  detail::decodeAttributes(ar, !ipv4.empty(), ctx, m);
  m.announced.insert(m.announced.begin(), ipv4.begin(), ipv4.end());
  if (wlen == 0 && alen == 0 && ipv4.empty()) m.endOfRib = Family::Ipv4Unicast;
  if (m.treatAsWithdraw) {
    m.withdrawn.insert(m.withdrawn.end(), m.announced.begin(), m.announced.end());
    m.announced.clear();
  }
  return m;
}

// Writes MP_REACH (announce) or MP_UNREACH (withdraw) around pre-encoded NLRI bytes.
void putMpAttribute(Writer& w, Family f, const PathAttributes* reachAttrs, const uint8_t* nlri, size_t len) {
  uint8_t type = reachAttrs ? attr::kMpReach : attr::kMpUnreach;
  size_t at = detail::beginAttribute(w, attr::kFlagOptional, type, true);
  w.u16(afiOf(f));
  w.u8(safiOf(f));
  if (reachAttrs) {
    detail::encodeMpNextHop(f, *reachAttrs, w);
    w.u8(0);
  }
  w.bytes(nlri, len);
  detail::endAttribute(w, at, true);
}

// Size of MP_(UN)REACH without its NLRI.
size_t mpOverhead(Family f, const PathAttributes* attrs) {
  if (!attrs) return 4 + 3;
  std::vector<uint8_t> tmp;
  Writer w(tmp);
  detail::encodeMpNextHop(f, *attrs, w);
  return 4 + 3 + tmp.size() + 1;
}

// Encodes each NLRI once and remembers where it starts, so messages can be packed greedily.
struct EncodedNlris {
  std::vector<uint8_t> bytes;
  std::vector<size_t> starts;  // starts.back() == bytes.size()
  explicit EncodedNlris(const std::vector<Nlri>& list) {
    for (const auto& n : list) {
      starts.push_back(bytes.size());
      encodeNlri(n, bytes);
    }
    starts.push_back(bytes.size());
  }
  size_t count() const { return starts.size() - 1; }
  // Largest j >= i+1 such that NLRIs [i, j) fit in budget bytes (at least one, always).
  size_t fit(size_t i, size_t budget) const {
    size_t j = i + 1;
    while (j < count() && starts[j + 1] - starts[i] <= budget) ++j;
    return j;
  }
};

}  // namespace

// ---------------------------------------------------------------- public

size_t frameLength(const uint8_t* buf, size_t len, DecodeError* error) {
  if (len < kHeaderSize) return 0;
  for (int i = 0; i < 16; ++i)
    if (buf[i] != 0xff) {
      *error = {{err::kHeader, err::kNotSynchronized, {}}, "bad marker"};
      return 0;
    }
  uint16_t mlen = uint16_t(buf[16] << 8 | buf[17]);
  uint8_t type = buf[18];
  size_t min = minLength(type);
  if (min == 0) {
    *error = {{err::kHeader, err::kBadType, {type}}, "unknown message type " + std::to_string(type)};
    return 0;
  }
  if (mlen < min || mlen > kMaxMessageSize || (type == 4 && mlen != 19)) {
    *error = {{err::kHeader, err::kBadLength, {buf[16], buf[17]}}, "bad message length " + std::to_string(mlen)};
    return 0;
  }
  return len >= mlen ? mlen : 0;
}

DecodeResult decodeMessage(const uint8_t* buf, size_t len, const CodecContext& ctx) {
  DecodeResult res;
  DecodeError fe;
  fe.notification.code = 0;
  size_t mlen = frameLength(buf, len, &fe);
  if (fe.notification.code) {
    res.error = fe;
    return res;
  }
  if (mlen == 0 || mlen != len) {
    res.error = DecodeError{{err::kHeader, err::kBadLength, {}}, "message length does not match buffer"};
    return res;
  }
  uint8_t type = buf[18];
  try {
    switch (MessageType(type)) {
      case MessageType::Open: {
        Reader r(buf + kHeaderSize, len - kHeaderSize, err::kOpen, 0);
        res.message = decodeOpen(r);
        break;
      }
      case MessageType::Update: {
        Reader r(buf + kHeaderSize, len - kHeaderSize, err::kUpdate, err::kMalformedAttrList);
        res.message = decodeUpdate(r, ctx);
        break;
      }
      case MessageType::Notification: {
        NotificationMessage n{buf[19], buf[20], std::vector<uint8_t>(buf + 21, buf + len)};
        res.message = n;
        break;
      }
      case MessageType::Keepalive: res.message = KeepaliveMessage{}; break;
      case MessageType::RouteRefresh: {
        if (len != 23) throw ParseError{err::kRouteRefresh, 1, "ROUTE-REFRESH length must be 23"};
        uint16_t a = uint16_t(buf[19] << 8 | buf[20]);
        auto f = familyFromAfiSafi(a, buf[22]);
        if (!f) throw ParseError{err::kRouteRefresh, 0, "ROUTE-REFRESH for unknown AFI/SAFI"};
        res.message = RouteRefreshMessage{*f, buf[21]};
        break;
      }
    }
  } catch (const ParseError& e) {
    res.message.reset();
    res.error = DecodeError{{e.code, e.subcode, {}}, e.reason};
  }
  return res;
}

void encodeOpen(const OpenMessage& m, std::vector<uint8_t>& out) {
  Writer w(out);
  size_t start = beginMessage(w, MessageType::Open);
  w.u8(m.version);
  w.u16(m.myAs > 0xffff ? 23456 : uint16_t(m.myAs));
  w.u16(m.holdTime);
  w.u32(m.bgpId);
  size_t optLenAt = w.pos();
  w.u8(0);
  // One capabilities parameter holding every capability (the common modern form).
  w.u8(2);
  size_t capLenAt = w.pos();
  w.u8(0);
  for (auto f : m.families) encodeCapability(w, cap::kMultiprotocol, afiSafiValue(f, 0));
  if (m.routeRefresh) encodeCapability(w, cap::kRouteRefresh, {});
  if (m.gracefulRestart) {
    const auto& gr = *m.gracefulRestart;
    uint16_t v = uint16_t((gr.restartState ? 0x8000 : 0) | (gr.restartTime & 0x0fff));
    std::vector<uint8_t> val{uint8_t(v >> 8), uint8_t(v)};
    for (const auto& fs : gr.families) {
      auto as = afiSafiValue(fs.family, 0);
      val.insert(val.end(), {as[0], as[1], as[3], uint8_t(fs.forwardingPreserved ? 0x80 : 0)});
    }
    encodeCapability(w, cap::kGracefulRestart, val);
  }
  if (m.as4)
    encodeCapability(w, cap::kAs4, {uint8_t(m.myAs >> 24), uint8_t(m.myAs >> 16), uint8_t(m.myAs >> 8), uint8_t(m.myAs)});
  for (const auto& c : m.otherCapabilities) encodeCapability(w, c.code, c.value);
  w.patch8(capLenAt, uint8_t(w.pos() - capLenAt - 1));
  w.patch8(optLenAt, uint8_t(w.pos() - optLenAt - 1));
  endMessage(w, start);
}

void encodeKeepalive(std::vector<uint8_t>& out) {
  Writer w(out);
  endMessage(w, beginMessage(w, MessageType::Keepalive));
}

void encodeNotification(const NotificationMessage& m, std::vector<uint8_t>& out) {
  Writer w(out);
  size_t start = beginMessage(w, MessageType::Notification);
  w.u8(m.code);
  w.u8(m.subcode);
  w.bytes(m.data.data(), std::min<size_t>(m.data.size(), kMaxMessageSize - 21));
  endMessage(w, start);
}

void encodeRouteRefresh(const RouteRefreshMessage& m, std::vector<uint8_t>& out) {
  Writer w(out);
  size_t start = beginMessage(w, MessageType::RouteRefresh);
  w.u16(afiOf(m.family));
  w.u8(m.subtype);
  w.u8(safiOf(m.family));
  endMessage(w, start);
}

bool encodeUpdate(const UpdateMessage& m, const CodecContext& ctx, std::vector<uint8_t>& out) {
  std::vector<uint8_t> msg;
  Writer w(msg);
  size_t start = beginMessage(w, MessageType::Update);
  std::vector<Nlri> v4Withdrawn, mpWithdrawn, v4Announced, mpAnnounced;
  for (const auto& n : m.withdrawn)
    (familyOf(n) == Family::Ipv4Unicast ? v4Withdrawn : mpWithdrawn).push_back(n);
  for (const auto& n : m.announced)
    (familyOf(n) == Family::Ipv4Unicast ? v4Announced : mpAnnounced).push_back(n);

  // One MP_REACH and one MP_UNREACH per message: each may carry a single family.
  auto oneFamily = [](const std::vector<Nlri>& v) {
    return std::all_of(v.begin(), v.end(), [&](const Nlri& n) { return familyOf(n) == familyOf(v[0]); });
  };
  if (!oneFamily(mpWithdrawn) || !oneFamily(mpAnnounced)) return false;
  EncodedNlris wv4(v4Withdrawn), av4(v4Announced), wmp(mpWithdrawn), amp(mpAnnounced);
  w.u16(uint16_t(wv4.bytes.size()));
  w.bytes(wv4.bytes.data(), wv4.bytes.size());
  size_t alenAt = w.pos();
  w.u16(0);
  // MP attributes go first, as FRR does: some implementations expect to learn the
  // family before the rest of the attributes.
  if (!mpAnnounced.empty()) putMpAttribute(w, familyOf(mpAnnounced[0]), &m.attrs, amp.bytes.data(), amp.bytes.size());
  if (!mpWithdrawn.empty()) putMpAttribute(w, familyOf(mpWithdrawn[0]), nullptr, wmp.bytes.data(), wmp.bytes.size());
  if (!m.announced.empty()) detail::encodeAttributes(m.attrs, !v4Announced.empty(), ctx, w);
  w.patch16(alenAt, uint16_t(w.pos() - alenAt - 2));
  w.bytes(av4.bytes.data(), av4.bytes.size());
  if (msg.size() > kMaxMessageSize) return false;
  endMessage(w, start);
  out.insert(out.end(), msg.begin(), msg.end());
  return true;
}

void encodeEndOfRib(Family f, std::vector<uint8_t>& out) {
  Writer w(out);
  size_t start = beginMessage(w, MessageType::Update);
  w.u16(0);
  if (f == Family::Ipv4Unicast) {
    w.u16(0);
  } else {
    size_t alenAt = w.pos();
    w.u16(0);
    putMpAttribute(w, f, nullptr, nullptr, 0);
    w.patch16(alenAt, uint16_t(w.pos() - alenAt - 2));
  }
  endMessage(w, start);
}

void encodeUpdates(Family family, const PathAttributes* attrs, const std::vector<Nlri>& announce,
                   const std::vector<Nlri>& withdraw, const CodecContext& ctx, std::vector<uint8_t>& out) {
  Writer w(out);
  constexpr size_t kFixed = kHeaderSize + 4;  // header + withdrawn length + attribute length
  bool v4 = family == Family::Ipv4Unicast;

  EncodedNlris wd(withdraw);
  for (size_t i = 0; i < wd.count();) {
    size_t j = wd.fit(i, kMaxMessageSize - kFixed - (v4 ? 0 : mpOverhead(family, nullptr)));
    size_t start = beginMessage(w, MessageType::Update);
    const uint8_t* p = wd.bytes.data() + wd.starts[i];
    size_t len = wd.starts[j] - wd.starts[i];
    if (v4) {
      w.u16(uint16_t(len));
      w.bytes(p, len);
      w.u16(0);
    } else {
      w.u16(0);
      size_t alenAt = w.pos();
      w.u16(0);
      putMpAttribute(w, family, nullptr, p, len);
      w.patch16(alenAt, uint16_t(w.pos() - alenAt - 2));
    }
    endMessage(w, start);
    i = j;
  }

  if (announce.empty() || !attrs) return;
  std::vector<uint8_t> attrBytes;
  Writer aw(attrBytes);
  detail::encodeAttributes(*attrs, v4, ctx, aw);
  EncodedNlris an(announce);
  size_t budget = kMaxMessageSize - kFixed - attrBytes.size() - (v4 ? 0 : mpOverhead(family, attrs));
  for (size_t i = 0; i < an.count();) {
    size_t j = an.fit(i, budget);
    size_t start = beginMessage(w, MessageType::Update);
    const uint8_t* p = an.bytes.data() + an.starts[i];
    size_t len = an.starts[j] - an.starts[i];
    w.u16(0);
    size_t alenAt = w.pos();
    w.u16(0);
    if (!v4) putMpAttribute(w, family, attrs, p, len);
    w.bytes(attrBytes.data(), attrBytes.size());
    w.patch16(alenAt, uint16_t(w.pos() - alenAt - 2));
    if (v4) w.bytes(p, len);
    endMessage(w, start);
    i = j;
  }
}

std::string describeNotification(uint8_t code, uint8_t subcode) {
  static const char* codes[] = {"", "Message Header Error", "OPEN Message Error", "UPDATE Message Error",
                                "Hold Timer Expired", "FSM Error", "Cease", "ROUTE-REFRESH Message Error"};
  std::string s = code < 8 ? codes[code] : "code " + std::to_string(code);
  return s + "/" + std::to_string(subcode);
}

}  // namespace vrfabric::bgp
