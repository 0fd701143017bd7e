// BGP message and NLRI structures. These are the decoded, typed form of what
// travels on the wire; codec.h turns them into bytes and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "vrfabric/bgp/types.h"

namespace vrfabric::bgp {

// ---------------------------------------------------------------- NLRI

// Label fields are kept as the raw 24-bit value found on the wire: for VXLAN
// (RFC 8365) it is the VNI, for MPLS it is (label << 4) | bottom-of-stack.
// mplsLabelField()/mplsLabelValue() convert.
inline uint32_t mplsLabelField(uint32_t label) { return (label << 4) | 1; }
inline uint32_t mplsLabelValue(uint32_t field) { return field >> 4; }

// RFC 7432 7.1 Ethernet Auto-discovery route (type 1).
struct EvpnEthernetAd {
  RouteDistinguisher rd;
  Esi esi;
  uint32_t ethTag = 0;
  uint32_t label = 0;
  auto operator<=>(const EvpnEthernetAd&) const = default;
};

// RFC 7432 7.2 MAC/IP Advertisement route (type 2).
struct EvpnMacIp {
  RouteDistinguisher rd;
  Esi esi;
  uint32_t ethTag = 0;
  MacAddress mac;
  std::optional<IpAddress> ip;
  uint32_t label = 0;                  // L2 VNI / label
  std::optional<uint32_t> label2;      // L3 VNI / label (symmetric IRB)
  auto operator<=>(const EvpnMacIp&) const = default;
};

// RFC 7432 7.3 Inclusive Multicast Ethernet Tag route (type 3).
struct EvpnMulticast {
  RouteDistinguisher rd;
  uint32_t ethTag = 0;
  IpAddress originator;
  auto operator<=>(const EvpnMulticast&) const = default;
};

// RFC 7432 7.4 Ethernet Segment route (type 4).
struct EvpnEthernetSegment {
  RouteDistinguisher rd;
  Esi esi;
  IpAddress originator;
  auto operator<=>(const EvpnEthernetSegment&) const = default;
};

// RFC 9136 3.1 IP Prefix route (type 5). prefix and gateway share an address family.
struct EvpnIpPrefix {
  RouteDistinguisher rd;
  Esi esi;
  uint32_t ethTag = 0;
  Prefix prefix;
  IpAddress gateway;
  uint32_t label = 0;
  auto operator<=>(const EvpnIpPrefix&) const = default;
};

// RFC 4364 / 4659 labelled VPN prefix; family (vpnv4/vpnv6) follows prefix.addr.v6.
struct VpnPrefix {
  RouteDistinguisher rd;
  Prefix prefix;
  uint32_t label = 0;  // raw 24-bit field, see mplsLabelField()
  auto operator<=>(const VpnPrefix&) const = default;
};

// RFC 4684 route target membership. lengthBits is the NLRI length: 0 = the default
// "send me everything" route, 32 = origin AS only, 96 = origin AS + exact RT.
struct RtMembership {
  uint32_t originAs = 0;
  ExtCommunity routeTarget;
  uint8_t lengthBits = 96;
  bool isDefault() const { return lengthBits == 0; }
  unsigned targetBits() const { return lengthBits > 32 ? lengthBits - 32u : 0u; }  // RT bits present
  auto operator<=>(const RtMembership&) const = default;
};

// Plain IPv4/IPv6 unicast uses Prefix directly.
using Nlri = std::variant<Prefix, VpnPrefix, EvpnEthernetAd, EvpnMacIp, EvpnMulticast,
                          EvpnEthernetSegment, EvpnIpPrefix, RtMembership>;

Family familyOf(const Nlri& n);
int evpnRouteType(const Nlri& n);  // 1..5, 0 when not EVPN
std::string nlriString(const Nlri& n);

// The part of an NLRI that identifies a route (RFC 7432 7.x / RFC 9136 3.1 / RFC 4364):
// labels, and for types 2 and 5 the ESI and gateway, are attributes of a path, not
// part of the key. routeKey() clears them so two paths for one route compare equal.
Nlri routeKey(const Nlri& n);
struct NlriHash {
  size_t operator()(const Nlri& n) const;
};

// ---------------------------------------------------------------- path attributes

namespace attr {
inline constexpr uint8_t kOrigin = 1, kAsPath = 2, kNextHop = 3, kMed = 4, kLocalPref = 5,
                         kAtomicAggregate = 6, kAggregator = 7, kCommunities = 8,
                         kOriginatorId = 9, kClusterList = 10, kMpReach = 14, kMpUnreach = 15,
                         kExtCommunities = 16, kAs4Path = 17, kAs4Aggregator = 18,
                         kPmsiTunnel = 22;
inline constexpr uint8_t kFlagOptional = 0x80, kFlagTransitive = 0x40, kFlagPartial = 0x20,
                         kFlagExtendedLength = 0x10;
}  // namespace attr

enum class Origin : uint8_t { Igp = 0, Egp = 1, Incomplete = 2 };

struct AsPathSegment {
  static constexpr uint8_t kSet = 1, kSequence = 2;
  uint8_t type = kSequence;
  std::vector<uint32_t> asns;
  auto operator<=>(const AsPathSegment&) const = default;
};

// RFC 6514 5: PMSI tunnel attribute; EVPN type-3 routes carry ingress replication (type 6).
struct PmsiTunnel {
  static constexpr uint8_t kIngressReplication = 6;
  uint8_t flags = 0;
  uint8_t tunnelType = kIngressReplication;
  uint32_t label = 0;  // raw 24-bit field (VNI for VXLAN)
  IpAddress endpoint;  // tunnel identifier for ingress replication
  auto operator<=>(const PmsiTunnel&) const = default;
};

struct Aggregator {
  uint32_t as = 0;
  uint32_t address = 0;
  auto operator<=>(const Aggregator&) const = default;
};

// Attributes we do not interpret are carried as-is; optional transitive ones are
// passed on with the Partial bit set (RFC 4271 5).
struct RawAttribute {
  uint8_t flags = 0;
  uint8_t type = 0;
  std::vector<uint8_t> value;
  auto operator<=>(const RawAttribute&) const = default;
};

struct PathAttributes {
  Origin origin = Origin::Igp;
  std::vector<AsPathSegment> asPath;
  // The next hop for every family: NEXT_HOP for IPv4 unicast, MP_REACH otherwise.
  IpAddress nextHop;
  std::optional<IpAddress> nextHopLinkLocal;  // IPv6 second next hop (RFC 2545)
  std::optional<uint32_t> med;
  std::optional<uint32_t> localPref;
  bool atomicAggregate = false;
  std::optional<Aggregator> aggregator;
  std::vector<uint32_t> communities;
  std::vector<ExtCommunity> extCommunities;
  std::optional<uint32_t> originatorId;
  std::vector<uint32_t> clusterList;
  std::optional<PmsiTunnel> pmsiTunnel;
  std::vector<RawAttribute> unknown;

  size_t asPathLength() const;          // AS_SET counts as one (RFC 4271 9.1.2.2)
  std::optional<uint32_t> neighborAs() const;  // first AS of the path
  bool asPathContains(uint32_t as) const;
  std::vector<ExtCommunity> routeTargets() const;
  std::optional<uint32_t> macMobilitySequence() const;
  void prependAs(uint32_t as);
  auto operator<=>(const PathAttributes&) const = default;
};

// ---------------------------------------------------------------- messages

enum class MessageType : uint8_t { Open = 1, Update = 2, Notification = 3, Keepalive = 4, RouteRefresh = 5 };

namespace cap {
inline constexpr uint8_t kMultiprotocol = 1, kRouteRefresh = 2, kGracefulRestart = 64, kAs4 = 65,
                         kEnhancedRouteRefresh = 70, kCiscoRouteRefresh = 128;
}

struct GracefulRestartCapability {
  bool restartState = false;  // R bit: the sender has restarted
  uint16_t restartTime = 0;   // seconds, 12 bits
  struct FamilyState {
    Family family;
    bool forwardingPreserved = false;
    auto operator<=>(const FamilyState&) const = default;
  };
  std::vector<FamilyState> families;
  auto operator<=>(const GracefulRestartCapability&) const = default;
};

struct RawCapability {
  uint8_t code = 0;
  std::vector<uint8_t> value;
  auto operator<=>(const RawCapability&) const = default;
};

struct OpenMessage {
  uint8_t version = 4;
  uint32_t myAs = 0;  // the real AS: the 4-octet capability value when present
  uint16_t holdTime = 90;
  uint32_t bgpId = 0;
  bool as4 = false;    // RFC 6793 capability present
  bool routeRefresh = false;
  std::vector<Family> families;  // multiprotocol capabilities we understand
  std::optional<GracefulRestartCapability> gracefulRestart;
  std::vector<RawCapability> otherCapabilities;  // kept for display
  auto operator<=>(const OpenMessage&) const = default;
};

struct UpdateMessage {
  std::vector<Nlri> withdrawn;  // IPv4 withdrawn routes field and MP_UNREACH
  std::vector<Nlri> announced;  // IPv4 NLRI field and MP_REACH
  PathAttributes attrs;
  // RFC 7606 outcome of decoding: when set, every announced NLRI must be handled
  // as withdrawn. Discarded attributes are listed for logging.
  bool treatAsWithdraw = false;
  std::vector<std::string> errors;
  // An UPDATE with nothing in it (IPv4) or an empty MP_UNREACH is End-of-RIB (RFC 4724 2).
  std::optional<Family> endOfRib;
};

struct NotificationMessage {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  auto operator<=>(const NotificationMessage&) const = default;
};

struct KeepaliveMessage {
  auto operator<=>(const KeepaliveMessage&) const = default;
};

struct RouteRefreshMessage {
  Family family = Family::Ipv4Unicast;
  uint8_t subtype = 0;  // RFC 7313: 0 normal, 1 BoRR, 2 EoRR
  auto operator<=>(const RouteRefreshMessage&) const = default;
};

using Message = std::variant<OpenMessage, UpdateMessage, NotificationMessage, KeepaliveMessage,
                             RouteRefreshMessage>;

// NOTIFICATION error codes (RFC 4271 4.5 and 6.x, RFC 4486 for Cease subcodes).
namespace err {
inline constexpr uint8_t kHeader = 1, kOpen = 2, kUpdate = 3, kHoldTimer = 4, kFsm = 5, kCease = 6,
                         kRouteRefresh = 7;
// header
inline constexpr uint8_t kNotSynchronized = 1, kBadLength = 2, kBadType = 3;
// open
inline constexpr uint8_t kUnsupportedVersion = 1, kBadPeerAs = 2, kBadBgpId = 3,
                         kUnsupportedOptParam = 4, kUnacceptableHoldTime = 6,
                         kUnsupportedCapability = 7;
// update
inline constexpr uint8_t kMalformedAttrList = 1, kUnrecognizedWellKnown = 2, kMissingWellKnown = 3,
                         kAttrFlags = 4, kAttrLength = 5, kInvalidOrigin = 6, kInvalidNextHop = 8,
                         kOptionalAttr = 9, kInvalidNetwork = 10, kMalformedAsPath = 11;
// cease
inline constexpr uint8_t kMaxPrefixes = 1, kAdminShutdown = 2, kPeerDeconfigured = 3,
                         kAdminReset = 4, kConnectionRejected = 5, kOtherConfigChange = 6,
                         kConnectionCollision = 7, kOutOfResources = 8;
}  // namespace err

std::string describeNotification(uint8_t code, uint8_t subcode);

}  // namespace vrfabric::bgp
