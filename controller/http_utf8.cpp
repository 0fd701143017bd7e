#include "controller/http_utf8.h"

namespace vrf {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;  // below: overlong
    else if (c == 0xED) len = 3, hi = 0x9F;  // above: surrogates
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;  // below: overlong
    else if (c == 0xF4) len = 4, hi = 0x8F;  // above: past U+10FFFF
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else return false;  // continuation byte first, C0/C1 (overlong) or F5..FF
    if (end - p < len || p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i < len; ++i)
      if ((p[i] & 0xC0) != 0x80) return false;
    p += len;
  }
  return true;
}

}  // namespace vrf
