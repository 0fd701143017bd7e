#include "controller/http_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vrf {

namespace {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// A private key that group or others can read is a key anyone on the host may already
// have copied: refuse to serve with it rather than warn.
void check_key_file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error("--tls-key " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error("--tls-key " + path + ": not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    throw std::runtime_error("--tls-key " + path + ": mode " + mode +
                             " lets group or others access the private key; chmod 600 it");
  }
}

// Mozilla's "intermediate" profile: TLS 1.2 with forward-secret AEAD suites only; the
// TLS 1.3 suites are OpenSSL's defaults (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file) {
  check_key_file_mode(key_file);
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) throw std::runtime_error("TLS: " + openssl_errors());
  auto fail = [this](const std::string& what) {
    std::string msg = what + ": " + openssl_errors();
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error(msg);
  };
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx_, kTls12Ciphers) != 1) fail("TLS cipher list");
  // No renegotiation (a client-driven CPU cost), no compression (CRIME); an EOF without
  // close_notify is an ordinary close here, HTTP frames its own messages.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
  // Clients are vrctl runs and agents with long-lived streams: resumption buys little,
  // and no ticket keys or session cache need protecting.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx_, 0);
  // A write may be retried from another buffer address and may complete partially, as
  // httplib's write loop expects of a socket.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // An encrypted key would make OpenSSL prompt on the terminal for a pass phrase: a
  // daemon must fail instead.
  SSL_CTX_set_default_passwd_cb(ctx_, [](char*, int, int, void*) { return 0; });
  if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1) fail("--tls-cert " + cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    unsigned long e = ERR_peek_last_error();
    bool mismatch = ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
    fail("--tls-key " + key_file +
         (mismatch ? " does not match --tls-cert " + cert_file : " (not a PEM private key, or one with a pass phrase: an unencrypted PEM key is needed)"));
  }
  if (SSL_CTX_check_private_key(ctx_) != 1) fail("--tls-key " + key_file + " does not match --tls-cert " + cert_file);
  if (X509* cert = SSL_CTX_get0_certificate(ctx_)) {
    char buf[512] = "";
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    subject_ = buf;
  }
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

TlsSession::TlsSession(const TlsContext& ctx, int fd) : ssl_(SSL_new(ctx.native())) {
  if (!ssl_ || SSL_set_fd(ssl_, fd) != 1) {
    if (ssl_) SSL_free(ssl_);
    throw std::runtime_error("TLS session: " + openssl_errors());
  }
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

IoStatus TlsSession::classify(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return IoStatus::want_read;
    case SSL_ERROR_WANT_WRITE:
      return IoStatus::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return IoStatus::closed;
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR || errno == EAGAIN) return IoStatus::want_read;
      error_ = errno ? std::strerror(errno) : "connection closed";
      ERR_clear_error();
      return IoStatus::closed;
    default: {
      unsigned long e = ERR_peek_error();
      plain_http_ = ERR_GET_LIB(e) == ERR_LIB_SSL &&
                    (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST || ERR_GET_REASON(e) == SSL_R_HTTPS_PROXY_REQUEST);
      error_ = openssl_errors();
      return IoStatus::failed;
    }
  }
}

IoStatus TlsSession::handshake() {
  ERR_clear_error();  // the error queue is per thread and SSL_get_error reads it
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return IoStatus::ok;
  }
  IoStatus io = classify(r);
  return io == IoStatus::closed ? IoStatus::failed : io;
}

IoStatus TlsSession::read(char* buf, size_t size, size_t& n) {
  ERR_clear_error();
  n = 0;
  int r = SSL_read_ex(ssl_, buf, size, &n);
  return r == 1 ? IoStatus::ok : classify(r);
}

IoStatus TlsSession::write(const char* buf, size_t size, size_t& n) {
  ERR_clear_error();
  n = 0;
  int r = SSL_write_ex(ssl_, buf, size, &n);
  return r == 1 ? IoStatus::ok : classify(r);
}

bool TlsSession::pending() const { return SSL_pending(ssl_) > 0 || SSL_has_pending(ssl_); }

bool TlsSession::peer_closed() {
  ERR_clear_error();
  char b;
  size_t n = 0;
  int r = SSL_peek_ex(ssl_, &b, 1, &n);
  if (r == 1) return false;
  IoStatus io = classify(r);
  return io == IoStatus::closed || io == IoStatus::failed;
}

void TlsSession::close_notify() {
  if (!established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace vrf
