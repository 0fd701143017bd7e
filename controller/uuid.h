#pragma once
// Time-ordered (version 7) UUIDs, random hex tokens from the OS entropy source, and
// the SHA-256 digest under which tokens are stored.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

namespace vrf {

inline std::string random_hex(size_t bytes) {
  thread_local std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes; i += 4) {
    uint32_t r = rd();
    for (size_t k = 0; k < 4 && i + k < bytes; ++k, r >>= 8) {
      s += hex[(r >> 4) & 0xf];
      s += hex[r & 0xf];
    }
  }
  return s;
}

// Version 7 (RFC 9562): a 48-bit millisecond timestamp, then random bits. Time-ordered
// ids make every index keyed by uuid (objects, refs, allocation owners) grow at its end
// instead of dirtying a random page per insert, which is most of a commit's WAL bytes.
inline std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[md[i] >> 4];
    s += hex[md[i] & 0xf];
  }
  return s;
}

inline std::string new_uuid() {
  uint64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  char ts[13];
  std::snprintf(ts, sizeof ts, "%012llx", static_cast<unsigned long long>(ms & 0xffffffffffffULL));
  std::string h = std::string(ts) + random_hex(10);
  h[12] = '7';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace vrf
