#pragma once
// TLS for ConnectionServer, with OpenSSL directly rather than httplib::SSLServer: httplib
// runs the handshake on a worker thread with blocking reads, so a client that never sends
// its ClientHello would hold a thread. Here a session is driven on a non-blocking socket
// by whichever thread has the connection: the handshake by the waiting room's epoll loop
// (bounded by a deadline), requests by a worker.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace vrf {

// Certificate and key, loaded once; shared by every listener that serves TLS.
class TlsContext {
 public:
  // Throws std::runtime_error naming the file and the reason: unreadable, a key that
  // group or others may read, a key that does not match the certificate.
  TlsContext(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* native() const { return ctx_; }
  std::string certificate_subject() const { return subject_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  std::string subject_;
};

// The outcome of one non-blocking step (ConnectionServer reports plain sockets' the same way).
enum class IoStatus { ok, want_read, want_write, closed, failed };

class TlsSession {
 public:
  TlsSession(const TlsContext& ctx, int fd);  // fd must be non-blocking
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool established() const { return established_; }
  IoStatus handshake();
  // ok with n > 0 bytes; closed on close_notify or EOF.
  IoStatus read(char* buf, size_t size, size_t& n);
  IoStatus write(const char* buf, size_t size, size_t& n);
  // Whether decrypted bytes are waiting inside the session (epoll cannot see them).
  bool pending() const;
  // Whether the peer has closed, without consuming application data.
  bool peer_closed();
  // Best effort close_notify, never blocks.
  void close_notify();
  // After a failed handshake: the client spoke plain HTTP to this port.
  bool spoke_plain_http() const { return plain_http_; }
  const std::string& error() const { return error_; }

 private:
  IoStatus classify(int ret);
  SSL* ssl_;
  bool established_ = false, plain_http_ = false;
  std::string error_;
};

}  // namespace vrf
