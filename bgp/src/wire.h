// Bounds-checked big-endian reader and appending writer used by the codec.
// Internal header: not installed.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vrfabric::bgp::wire {

// Thrown inside the codec only; decodeMessage() converts it into a DecodeError.
struct ParseError {
  uint8_t code;
  uint8_t subcode;
  std::string reason;
};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, uint8_t code, uint8_t subcode)
      : p_(p), n_(n), code_(code), subcode_(subcode) {}

  size_t left() const { return n_ - off_; }
  bool empty() const { return off_ == n_; }
  const uint8_t* cursor() const { return p_ + off_; }

  uint8_t u8() { need(1); return p_[off_++]; }
  uint16_t u16() { need(2); uint16_t v = uint16_t(p_[off_] << 8 | p_[off_ + 1]); off_ += 2; return v; }
  uint32_t u24() { need(3); uint32_t v = uint32_t(p_[off_]) << 16 | uint32_t(p_[off_ + 1]) << 8 | p_[off_ + 2]; off_ += 3; return v; }
  uint32_t u32() { uint32_t hi = u16(); return hi << 16 | u16(); }
  void copy(uint8_t* dst, size_t k) { need(k); std::memcpy(dst, p_ + off_, k); off_ += k; }
  void skip(size_t k) { need(k); off_ += k; }
  // A sub-reader over the next k bytes, with its own error code for overruns.
  Reader sub(size_t k, uint8_t code, uint8_t subcode) {
    need(k);
    Reader r(p_ + off_, k, code, subcode);
    off_ += k;
    return r;
  }
  Reader sub(size_t k) { return sub(k, code_, subcode_); }
  [[noreturn]] void fail(const std::string& why) const { throw ParseError{code_, subcode_, why}; }

 private:
  void need(size_t k) const {
    if (k > left()) fail("truncated field");
  }
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
  uint8_t code_, subcode_;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : o_(out) {}
  void u8(uint8_t v) { o_.push_back(v); }
  void u16(uint16_t v) { o_.push_back(uint8_t(v >> 8)); o_.push_back(uint8_t(v)); }
  void u24(uint32_t v) { o_.push_back(uint8_t(v >> 16)); u16(uint16_t(v)); }
  void u32(uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); }
  void u64(uint64_t v) { u32(uint32_t(v >> 32)); u32(uint32_t(v)); }
  void bytes(const uint8_t* p, size_t n) { o_.insert(o_.end(), p, p + n); }
  size_t pos() const { return o_.size(); }
  void patch16(size_t at, uint16_t v) { o_[at] = uint8_t(v >> 8); o_[at + 1] = uint8_t(v); }
  void patch8(size_t at, uint8_t v) { o_[at] = v; }
  std::vector<uint8_t>& buffer() { return o_; }

 private:
  std::vector<uint8_t>& o_;
};

}  // namespace vrfabric::bgp::wire
