#include "vrfabric/bgp/fsm.h"

#include <algorithm>

namespace vrfabric::bgp {

namespace {
FsmAction act(FsmAction::Kind kind, uint32_t seconds = 0) {
  FsmAction a{};
  a.kind = kind;
  a.seconds = seconds;
  return a;
}
}  // namespace

const char* sessionStateName(SessionState s) {
  switch (s) {
    case SessionState::Idle: return "Idle";
    case SessionState::Connect: return "Connect";
    case SessionState::Active: return "Active";
    case SessionState::OpenSent: return "OpenSent";
    case SessionState::OpenConfirm: return "OpenConfirm";
    case SessionState::Established: return "Established";
  }
  return "?";
}

std::vector<FsmAction> ConnectionFsm::start() {
  state_ = SessionState::OpenSent;
  return {act(FsmAction::SendOpen), act(FsmAction::ArmHoldTimer, kInitialHoldSeconds)};
}

std::vector<FsmAction> ConnectionFsm::fail(uint8_t code, uint8_t subcode, std::string reason,
                                           std::vector<uint8_t> data) {
  state_ = SessionState::Idle;
  FsmAction a = act(FsmAction::SendNotification);
  a.notification = {code, subcode, std::move(data)};
  a.reason = std::move(reason);
  return {a, act(FsmAction::ArmHoldTimer, 0), act(FsmAction::ArmKeepaliveTimer, 0)};
}

std::vector<FsmAction> ConnectionFsm::handleOpen(const OpenMessage& o) {
  if (o.myAs != cfg_.expectedPeerAs)
    return fail(err::kOpen, err::kBadPeerAs, "peer AS " + std::to_string(o.myAs) + ", expected " +
                                                 std::to_string(cfg_.expectedPeerAs));
  // RFC 6286 2.2: an iBGP peer with our own identifier is an error.
  if (cfg_.ibgp && o.bgpId == cfg_.localOpen.bgpId) return fail(err::kOpen, err::kBadBgpId, "peer uses our BGP identifier");
  peerOpen_ = o;
  // RFC 4271 4.2: the smaller hold time wins; zero means no keepalives at all.
  holdTime_ = std::min(o.holdTime, cfg_.localOpen.holdTime);
  state_ = SessionState::OpenConfirm;
  return {act(FsmAction::OpenReceived),
          act(FsmAction::SendKeepalive),
          act(FsmAction::ArmHoldTimer, holdTime_),
          act(FsmAction::ArmKeepaliveTimer, holdTime_ / 3u)};
}

std::vector<FsmAction> ConnectionFsm::onMessage(const Message& m) {
  if (auto* n = std::get_if<NotificationMessage>(&m)) {
    state_ = SessionState::Idle;
    FsmAction a = act(FsmAction::Close);
    a.reason = "received NOTIFICATION " + describeNotification(n->code, n->subcode);
    return {a};
  }
  switch (state_) {
    case SessionState::OpenSent:
      if (auto* o = std::get_if<OpenMessage>(&m)) return handleOpen(*o);
      return fail(err::kFsm, 1, "expected OPEN in OpenSent");
    case SessionState::OpenConfirm:
      if (std::holds_alternative<KeepaliveMessage>(m)) {
        state_ = SessionState::Established;
        return {act(FsmAction::Established), act(FsmAction::ArmHoldTimer, holdTime_)};
      }
      return fail(err::kFsm, 2, "expected KEEPALIVE in OpenConfirm");
    case SessionState::Established:
      if (std::holds_alternative<OpenMessage>(m)) return fail(err::kFsm, 3, "OPEN in Established");
      // Any KEEPALIVE or UPDATE restarts the hold timer (RFC 4271 8.2.2).
      return {act(FsmAction::ArmHoldTimer, holdTime_)};
    default:
      return fail(err::kFsm, 0, "message in unexpected state");
  }
}

std::vector<FsmAction> ConnectionFsm::onDecodeError(const DecodeError& e) {
  return fail(e.notification.code, e.notification.subcode, "decode error: " + e.reason, e.notification.data);
}

std::vector<FsmAction> ConnectionFsm::onHoldTimerExpired() {
  return fail(err::kHoldTimer, 0, "hold timer expired");
}

std::vector<FsmAction> ConnectionFsm::onKeepaliveTimerExpired() {
  if (state_ != SessionState::OpenConfirm && state_ != SessionState::Established) return {};
  return {act(FsmAction::SendKeepalive), act(FsmAction::ArmKeepaliveTimer, holdTime_ / 3u)};
}

std::vector<FsmAction> ConnectionFsm::onTransportClosed() {
  state_ = SessionState::Idle;
  FsmAction a = act(FsmAction::Close);
  a.reason = "connection closed by peer";
  a.keepRoutes = true;
  return {a, act(FsmAction::ArmHoldTimer, 0), act(FsmAction::ArmKeepaliveTimer, 0)};
}

std::vector<FsmAction> ConnectionFsm::stop(uint8_t ceaseSubcode, const std::string& reason) {
  return fail(err::kCease, ceaseSubcode, reason);
}

}  // namespace vrfabric::bgp
