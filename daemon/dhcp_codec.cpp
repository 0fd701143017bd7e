#include "dhcp_codec.h"

#include <arpa/inet.h>

#include <cstring>

namespace vrfabric::dhcp {

namespace {

constexpr size_t kFixedLen = 236;  // op .. file
constexpr uint32_t kMagic = 0x63825363;

enum Option : uint8_t {
  kPad = 0, kSubnetMask = 1, kRouter = 3, kDns = 6, kMtu = 26, kRequestedIp = 50, kLeaseTime = 51,
  kMessageType = 53, kServerId = 54, kEnd = 255,
};

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool fail(std::string* error, const char* why) {
  if (error) *error = why;
  return false;
}

bool parse_options(const uint8_t* p, size_t len, Message& m, std::string* error) {
  bool have_type = false;
  for (size_t i = 0; i < len;) {
    uint8_t code = p[i++];
    if (code == kPad) continue;
    if (code == kEnd) return have_type || fail(error, "no message type option");
    if (i >= len) return fail(error, "option length missing");
    uint8_t olen = p[i++];
    if (i + olen > len) return fail(error, "option runs past the end");
    const uint8_t* v = p + i;
    i += olen;
    auto need = [&](size_t n) { return olen == n || fail(error, "option with a wrong length"); };
    switch (code) {
      case kMessageType:
        if (!need(1)) return false;
        if (v[0] < kDiscover || v[0] > kInform) return fail(error, "unknown message type");
        m.type = static_cast<MessageType>(v[0]);
        have_type = true;
        break;
      case kRequestedIp:
        if (!need(4)) return false;
        m.requested_ip = load32(v);
        break;
      case kServerId:
        if (!need(4)) return false;
        m.server_id = load32(v);
        break;
      case kSubnetMask:
        if (!need(4)) return false;
        m.subnet_mask = load32(v);
        break;
      case kRouter:
        if (olen < 4 || olen % 4) return fail(error, "router option with a wrong length");
        m.router = load32(v);
        break;
      case kLeaseTime:
        if (!need(4)) return false;
        m.lease_seconds = ntohl(load32(v));
        break;
      case kDns:
        if (olen < 4 || olen % 4) return fail(error, "DNS option with a wrong length");
        for (size_t k = 0; k < olen; k += 4) m.dns.push_back(load32(v + k));
        break;
      case kMtu:
        if (!need(2)) return false;
        m.mtu = static_cast<uint16_t>(v[0] << 8 | v[1]);
        break;
      default:
        break;  // options we do not use are skipped
    }
  }
  return fail(error, "options not terminated");
}

void put_option(std::vector<uint8_t>& b, uint8_t code, const void* data, size_t len) {
  b.push_back(code);
  b.push_back(static_cast<uint8_t>(len));
  auto* p = static_cast<const uint8_t*>(data);
  b.insert(b.end(), p, p + len);
}

uint32_t mask_of(uint8_t len) { return len == 0 ? 0 : htonl(~0u << (32 - len)); }

}  // namespace

std::optional<Message> decode(const uint8_t* p, size_t len, std::string* error) {
  if (len < kFixedLen + 4) {
    fail(error, "shorter than a BOOTP header");
    return std::nullopt;
  }
  Message m;
  m.op = p[0];
  if (m.op != 1 && m.op != 2) {
    fail(error, "op is neither request nor reply");
    return std::nullopt;
  }
  if (p[1] != 1 || p[2] != 6) {
    fail(error, "hardware type is not Ethernet");
    return std::nullopt;
  }
  m.xid = ntohl(load32(p + 4));
  m.flags = static_cast<uint16_t>(p[10] << 8 | p[11]);
  m.ciaddr = load32(p + 12);
  m.yiaddr = load32(p + 16);
  m.siaddr = load32(p + 20);
  m.giaddr = load32(p + 24);
  std::memcpy(m.chaddr.data(), p + 28, 6);
  if (ntohl(load32(p + kFixedLen)) != kMagic) {
    fail(error, "no DHCP magic cookie");
    return std::nullopt;
  }
  if (!parse_options(p + kFixedLen + 4, len - kFixedLen - 4, m, error)) return std::nullopt;
  return m;
}

std::vector<uint8_t> encode(const Message& m) {
  std::vector<uint8_t> b(kFixedLen, 0);
  b[0] = m.op;
  b[1] = 1;
  b[2] = 6;
  uint32_t xid = htonl(m.xid);
  std::memcpy(&b[4], &xid, 4);
  b[10] = static_cast<uint8_t>(m.flags >> 8);
  b[11] = static_cast<uint8_t>(m.flags);
  std::memcpy(&b[12], &m.ciaddr, 4);
  std::memcpy(&b[16], &m.yiaddr, 4);
  std::memcpy(&b[20], &m.siaddr, 4);
  std::memcpy(&b[24], &m.giaddr, 4);
  std::memcpy(&b[28], m.chaddr.data(), 6);
  uint32_t magic = htonl(kMagic);
  b.insert(b.end(), reinterpret_cast<uint8_t*>(&magic), reinterpret_cast<uint8_t*>(&magic) + 4);
  uint8_t type = m.type;
  put_option(b, kMessageType, &type, 1);
  if (m.server_id) put_option(b, kServerId, &*m.server_id, 4);
  if (m.requested_ip) put_option(b, kRequestedIp, &*m.requested_ip, 4);
  if (m.lease_seconds) {
    uint32_t t = htonl(*m.lease_seconds);
    put_option(b, kLeaseTime, &t, 4);
  }
  if (m.subnet_mask) put_option(b, kSubnetMask, &*m.subnet_mask, 4);
  if (m.router) put_option(b, kRouter, &*m.router, 4);
  if (!m.dns.empty()) put_option(b, kDns, m.dns.data(), 4 * m.dns.size());
  if (m.mtu) {
    uint8_t mtu[2] = {static_cast<uint8_t>(*m.mtu >> 8), static_cast<uint8_t>(*m.mtu)};
    put_option(b, kMtu, mtu, 2);
  }
  b.push_back(kEnd);
  if (b.size() < 300) b.resize(300, 0);  // some clients expect the BOOTP minimum size
  return b;
}

std::optional<Message> answer(const Message& req, const Lease& lease) {
  if (req.op != 1) return std::nullopt;
  if (req.server_id && *req.server_id != lease.gateway) return std::nullopt;  // the client chose another server
  Message r;
  r.op = 2;
  r.xid = req.xid;
  r.flags = req.flags;
  r.giaddr = req.giaddr;
  r.chaddr = req.chaddr;
  r.server_id = lease.gateway;
  switch (req.type) {
    case kDiscover:
      r.type = kOffer;
      break;
    case kRequest: {
      uint32_t wanted = req.requested_ip.value_or(req.ciaddr);
      r.type = wanted == lease.address ? kAck : kNak;
      if (r.type == kNak) return r;
      break;
    }
    case kInform:
      r.type = kAck;
      r.ciaddr = req.ciaddr;
      r.subnet_mask = mask_of(lease.prefix_len);
      r.router = lease.gateway;
      r.dns = lease.dns;
      return r;
    default:
      return std::nullopt;
  }
  r.yiaddr = lease.address;
  r.lease_seconds = lease.lease_seconds;
  r.subnet_mask = mask_of(lease.prefix_len);
  r.router = lease.gateway;
  r.dns = lease.dns;
  if (lease.mtu) r.mtu = lease.mtu;
  return r;
}

}  // namespace vrfabric::dhcp
