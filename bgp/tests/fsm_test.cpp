// The connection FSM driven event by event (RFC 4271 section 8).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

#include "vrfabric/bgp/fsm.h"

using namespace vrfabric::bgp;

namespace {

FsmConfig config(uint16_t hold = 90) {
  OpenMessage o;
  o.myAs = 65000;
  o.holdTime = hold;
  o.bgpId = 0x01010101;
  o.as4 = true;
  return FsmConfig{o, 65001, false};
}

OpenMessage peerOpen(uint32_t as = 65001, uint16_t hold = 30) {
  OpenMessage o;
  o.myAs = as;
  o.holdTime = hold;
  o.bgpId = 0x02020202;
  o.as4 = true;
  return o;
}

bool has(const std::vector<FsmAction>& acts, FsmAction::Kind k, uint32_t seconds = UINT32_MAX) {
  return std::any_of(acts.begin(), acts.end(), [&](const FsmAction& a) {
    return a.kind == k && (seconds == UINT32_MAX || a.seconds == seconds);
  });
}

// The NOTIFICATION among the actions (copied: the action list is often a temporary).
std::optional<FsmAction> notification(const std::vector<FsmAction>& acts) {
  for (const auto& a : acts)
    if (a.kind == FsmAction::SendNotification) return a;
  return std::nullopt;
}

}  // namespace

TEST_CASE("happy path: OpenSent -> OpenConfirm -> Established with the smaller hold time") {
  ConnectionFsm fsm(config(90));
  auto a = fsm.start();
  CHECK(fsm.state() == SessionState::OpenSent);
  CHECK(has(a, FsmAction::SendOpen));
  CHECK(has(a, FsmAction::ArmHoldTimer, ConnectionFsm::kInitialHoldSeconds));
  a = fsm.onMessage(peerOpen(65001, 30));
  CHECK(fsm.state() == SessionState::OpenConfirm);
  CHECK(has(a, FsmAction::OpenReceived));
  CHECK(has(a, FsmAction::SendKeepalive));
  CHECK(has(a, FsmAction::ArmHoldTimer, 30));
  CHECK(has(a, FsmAction::ArmKeepaliveTimer, 10));
  a = fsm.onMessage(KeepaliveMessage{});
  CHECK(fsm.state() == SessionState::Established);
  CHECK(has(a, FsmAction::Established));
  // Every UPDATE/KEEPALIVE restarts the hold timer.
  CHECK(has(fsm.onMessage(UpdateMessage{}), FsmAction::ArmHoldTimer, 30));
  CHECK(has(fsm.onKeepaliveTimerExpired(), FsmAction::SendKeepalive));
}

TEST_CASE("hold time zero disables keepalives and the hold timer") {
  ConnectionFsm fsm(config(0));
  fsm.start();
  auto a = fsm.onMessage(peerOpen(65001, 90));
  CHECK(fsm.negotiatedHoldTime() == 0);
  CHECK(has(a, FsmAction::ArmHoldTimer, 0));
  CHECK(has(a, FsmAction::ArmKeepaliveTimer, 0));
}

TEST_CASE("OPEN from the wrong AS gets OPEN Message Error / Bad Peer AS") {
  ConnectionFsm fsm(config());
  fsm.start();
  auto a = fsm.onMessage(peerOpen(65099));
  auto n = notification(a);
  REQUIRE(n);
  CHECK(n->notification.code == err::kOpen);
  CHECK(n->notification.subcode == err::kBadPeerAs);
  CHECK(fsm.state() == SessionState::Idle);
}

TEST_CASE("iBGP peer using our BGP identifier is rejected (RFC 6286)") {
  FsmConfig c = config();
  c.expectedPeerAs = 65000;
  c.ibgp = true;
  ConnectionFsm fsm(c);
  fsm.start();
  OpenMessage o = peerOpen(65000);
  o.bgpId = 0x01010101;
  auto n = notification(fsm.onMessage(o));
  REQUIRE(n);
  CHECK(n->notification.subcode == err::kBadBgpId);
}

TEST_CASE("UPDATE before the session is up is an FSM error") {
  ConnectionFsm fsm(config());
  fsm.start();
  auto n = notification(fsm.onMessage(UpdateMessage{}));
  REQUIRE(n);
  CHECK(n->notification.code == err::kFsm);
}

TEST_CASE("hold timer expiry sends Hold Timer Expired") {
  ConnectionFsm fsm(config());
  fsm.start();
  fsm.onMessage(peerOpen());
  fsm.onMessage(KeepaliveMessage{});
  auto n = notification(fsm.onHoldTimerExpired());
  REQUIRE(n);
  CHECK(n->notification.code == err::kHoldTimer);
}

TEST_CASE("a received NOTIFICATION closes without graceful-restart retention") {
  ConnectionFsm fsm(config());
  fsm.start();
  auto a = fsm.onMessage(NotificationMessage{err::kCease, err::kAdminReset, {}});
  REQUIRE(has(a, FsmAction::Close));
  CHECK(!a[0].keepRoutes);
  CHECK(fsm.state() == SessionState::Idle);
}

TEST_CASE("a dropped transport keeps routes for graceful restart") {
  ConnectionFsm fsm(config());
  fsm.start();
  fsm.onMessage(peerOpen());
  fsm.onMessage(KeepaliveMessage{});
  auto a = fsm.onTransportClosed();
  REQUIRE(has(a, FsmAction::Close));
  CHECK(a[0].keepRoutes);
}

TEST_CASE("decode errors become the matching NOTIFICATION") {
  ConnectionFsm fsm(config());
  fsm.start();
  auto n = notification(fsm.onDecodeError(DecodeError{{err::kUpdate, err::kOptionalAttr, {}}, "bad MP_REACH"}));
  REQUIRE(n);
  CHECK(n->notification.code == err::kUpdate);
  CHECK(n->notification.subcode == err::kOptionalAttr);
}
