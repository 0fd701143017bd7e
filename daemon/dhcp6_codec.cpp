#include "dhcp6_codec.h"

#include <cstring>
#include <map>

namespace vrfabric::dhcp6 {

namespace {

enum Option : uint16_t {
  kClientId = 1, kServerId = 2, kIaNa = 3, kIaAddr = 5, kOro = 6, kStatus = 13, kRapidCommit = 14, kDns = 23,
};

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void put_option(std::vector<uint8_t>& b, uint16_t code, const std::vector<uint8_t>& value) {
  put16(b, code);
  put16(b, static_cast<uint16_t>(value.size()));
  b.insert(b.end(), value.begin(), value.end());
}

std::vector<uint8_t> server_duid(const Lease& l) {
  std::vector<uint8_t> d;
  put16(d, 3);  // DUID-LL
  put16(d, 1);  // Ethernet
  d.insert(d.end(), l.server_mac.begin(), l.server_mac.end());
  return d;
}

bool fail(std::string* why, const char* reason) {
  if (why) *why = reason;
  return false;
}

// Top-level options of a message: code -> value (the first of each code).
bool parse_options(const uint8_t* p, size_t len, std::map<uint16_t, std::vector<uint8_t>>& out, std::string* why) {
  size_t i = 0;
  while (i < len) {
    if (i + 4 > len) return fail(why, "option header cut off");
    uint16_t code = static_cast<uint16_t>(p[i] << 8 | p[i + 1]);
    uint16_t olen = static_cast<uint16_t>(p[i + 2] << 8 | p[i + 3]);
    i += 4;
    if (i + olen > len) return fail(why, "option runs past the end");
    out.try_emplace(code, p + i, p + i + olen);
    i += olen;
  }
  return true;
}

}  // namespace

std::optional<std::vector<uint8_t>> answer(const uint8_t* data, size_t len, const Lease& lease, std::string* why) {
  if (len < 4) {
    fail(why, "shorter than a DHCPv6 header");
    return std::nullopt;
  }
  uint8_t type = data[0];
  std::map<uint16_t, std::vector<uint8_t>> opts;
  if (!parse_options(data + 4, len - 4, opts, why)) return std::nullopt;
  if (type != kSolicit && type != kRequest && type != kConfirm && type != kRenew && type != kRebind &&
      type != kRelease && type != kInformationRequest) {
    fail(why, "not a message a server answers");
    return std::nullopt;
  }
  auto client = opts.find(kClientId);
  if (client == opts.end() && type != kInformationRequest) {
    fail(why, "no client identifier");
    return std::nullopt;
  }
  auto sid = opts.find(kServerId);
  if (sid != opts.end() && sid->second != server_duid(lease)) {
    fail(why, "meant for another server");
    return std::nullopt;
  }
  bool rapid = type == kSolicit && opts.count(kRapidCommit);
  std::vector<uint8_t> r;
  r.push_back(type == kSolicit && !rapid ? kAdvertise : kReply);
  r.insert(r.end(), data + 1, data + 4);  // transaction id
  if (client != opts.end()) put_option(r, kClientId, client->second);
  put_option(r, kServerId, server_duid(lease));
  if (rapid) put_option(r, kRapidCommit, {});
  auto ia = opts.find(kIaNa);
  if (ia != opts.end() && type != kRelease && type != kConfirm) {
    if (ia->second.size() < 12) {
      fail(why, "IA_NA shorter than 12 bytes");
      return std::nullopt;
    }
    std::vector<uint8_t> v(ia->second.begin(), ia->second.begin() + 4);  // IAID
    put32(v, lease.preferred_seconds / 2);                                 // T1
    put32(v, lease.preferred_seconds * 4 / 5);                             // T2
    std::vector<uint8_t> addr(lease.address.begin(), lease.address.end());
    put32(addr, lease.preferred_seconds);
    put32(addr, lease.valid_seconds);
    put_option(v, kIaAddr, addr);
    put_option(r, kIaNa, v);
  }
  if (type == kConfirm || type == kRelease) {
    std::vector<uint8_t> status;
    put16(status, 0);  // Success
    put_option(r, kStatus, status);
  }
  if (!lease.dns.empty()) {
    std::vector<uint8_t> dns;
    for (auto& d : lease.dns) dns.insert(dns.end(), d.begin(), d.end());
    put_option(r, kDns, dns);
  }
  return r;
}

}  // namespace vrfabric::dhcp6
