// A hand-driven BGP peer for speaker tests: a blocking TCP socket plus the codec,
// so a test can send exactly the bytes it wants (including malformed ones) and
// see exactly what the speaker answers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include "vrfabric/bgp/codec.h"

namespace vrfabric::bgp::test {

// Polls pred every 20 ms until it holds or the timeout passes.
template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// A listening socket for tests where the speaker connects to us.
class Listener {
 public:
  Listener(const std::string& addr, uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4) != 0)
      throw std::runtime_error(std::string("Listener: ") + std::strerror(errno));
  }
  ~Listener() { ::close(fd_); }
  int accept() { return ::accept(fd_, nullptr, nullptr); }

 private:
  int fd_;
};

class RawPeer {
 public:
  // Connects from `local` to the speaker at remote:port.
  RawPeer(const std::string& local, const std::string& remote, uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in l{}, r{};
    l.sin_family = r.sin_family = AF_INET;
    inet_pton(AF_INET, local.c_str(), &l.sin_addr);
    inet_pton(AF_INET, remote.c_str(), &r.sin_addr);
    r.sin_port = htons(port);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&l), sizeof l) != 0 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&r), sizeof r) != 0)
      throw std::runtime_error(std::string("RawPeer connect: ") + std::strerror(errno));
  }
  // Wraps an already connected socket (e.g. one accepted from a Listener).
  explicit RawPeer(int fd) : fd_(fd) {
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawPeer() { close(); }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const std::vector<uint8_t>& bytes) {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != ssize_t(bytes.size()))
      throw std::runtime_error("RawPeer send failed");
  }

  // Next message, or nullopt on EOF/timeout.
  std::optional<Message> read() {
    for (;;) {
      DecodeError e{};
      size_t len = frameLength(buf_.data(), buf_.size(), &e);
      if (len) {
        auto res = decodeMessage(buf_.data(), len, CodecContext{});
        buf_.erase(buf_.begin(), buf_.begin() + len);
        if (res.ok()) return res.message;
        continue;
      }
      uint8_t chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buf_.insert(buf_.end(), chunk, chunk + n);
    }
  }

  // Reads until a message of type T arrives (skipping others).
  template <typename T>
  std::optional<T> readUntil() {
    while (auto m = read())
      if (auto* t = std::get_if<T>(&*m)) return *t;
    return std::nullopt;
  }

  // OPEN + KEEPALIVE exchange. Returns the speaker's OPEN.
  OpenMessage establish(OpenMessage mine) {
    std::vector<uint8_t> out;
    encodeOpen(mine, out);
    encodeKeepalive(out);
    send(out);
    auto theirs = readUntil<OpenMessage>();
    if (!theirs) throw std::runtime_error("no OPEN from speaker");
    if (!readUntil<KeepaliveMessage>()) throw std::runtime_error("no KEEPALIVE from speaker");
    return *theirs;
  }

  void sendUpdate(const UpdateMessage& u) {
    std::vector<uint8_t> out;
    if (!encodeUpdate(u, CodecContext{}, out)) throw std::runtime_error("UPDATE too large");
    send(out);
  }

 private:
  int fd_ = -1;
  std::vector<uint8_t> buf_;
};

}  // namespace vrfabric::bgp::test
