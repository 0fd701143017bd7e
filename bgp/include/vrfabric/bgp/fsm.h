// The per-connection part of the RFC 4271 section 8 state machine, from the moment
// TCP is up (OpenSent) to Established. It does no I/O: each event returns the
// actions the owner (Peer) must carry out, which keeps it unit-testable.
// Idle/Connect/Active (connecting, retry timer, passive mode) live in the Peer,
// because with connection collisions one peer can have two of these at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vrfabric/bgp/codec.h"

namespace vrfabric::bgp {

enum class SessionState { Idle, Connect, Active, OpenSent, OpenConfirm, Established };
const char* sessionStateName(SessionState s);

struct FsmAction {
  enum Kind {
    SendOpen,
    SendKeepalive,
    SendNotification,  // then close
    ArmHoldTimer,      // seconds; 0 = disarm
    ArmKeepaliveTimer, // seconds; 0 = disarm
    OpenReceived,      // the peer's OPEN is acceptable: owner checks for collisions
    Established,
    Close,             // connection finished (after a NOTIFICATION, or one was received)
  } kind;
  uint32_t seconds = 0;
  NotificationMessage notification{};
  std::string reason;
  // For Close: the transport failed without a NOTIFICATION, so a graceful-restart
  // helper keeps the peer's routes (RFC 4724 4.2).
  bool keepRoutes = false;
};

struct FsmConfig {
  OpenMessage localOpen;       // what we send
  uint32_t expectedPeerAs = 0;
  bool ibgp = false;
};

class ConnectionFsm {
 public:
  // RFC 4271 8.2.2 suggests a large hold timer (4 minutes) until OPEN arrives.
  static constexpr uint32_t kInitialHoldSeconds = 240;

  explicit ConnectionFsm(FsmConfig cfg) : cfg_(std::move(cfg)) {}

  SessionState state() const { return state_; }
  const std::optional<OpenMessage>& peerOpen() const { return peerOpen_; }
  uint16_t negotiatedHoldTime() const { return holdTime_; }

  std::vector<FsmAction> start();  // TCP connection is up
  std::vector<FsmAction> onMessage(const Message& m);
  std::vector<FsmAction> onDecodeError(const DecodeError& e);
  std::vector<FsmAction> onHoldTimerExpired();
  std::vector<FsmAction> onKeepaliveTimerExpired();
  std::vector<FsmAction> onTransportClosed();
  // Stop with a Cease (administrative, collision, ...).
  std::vector<FsmAction> stop(uint8_t ceaseSubcode, const std::string& reason);

 private:
  std::vector<FsmAction> fail(uint8_t code, uint8_t subcode, std::string reason, std::vector<uint8_t> data = {});
  std::vector<FsmAction> handleOpen(const OpenMessage& o);
  FsmConfig cfg_;
  SessionState state_ = SessionState::Idle;
  std::optional<OpenMessage> peerOpen_;
  uint16_t holdTime_ = 0;
};

}  // namespace vrfabric::bgp
