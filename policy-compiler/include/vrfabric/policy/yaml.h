#pragma once
// YAML front end: the controller's object model as `vrctl apply -f` takes it.
//
// A file is a stream of documents. A document is either one object,
//     kind: firewall-rule
//     fq_name: default-domain:finance:web-to-app
//     ...
// or a map from plural kinds to lists of objects (compact form for whole configurations):
//     virtual-networks: [{fq_name: ..., tag_refs: [...]}, ...]
//     firewall-rules: [...]
// Kinds and fields are the controller schema's (controller/schema_data.h): project,
// virtual-network, virtual-machine, virtual-machine-interface, instance-ip (its
// instance_ip_address is required here: there is no IPAM), security-group, network-policy,
// tag, tag-type (declares a custom tag type), service-group, address-group, firewall-rule,
// firewall-policy, application-policy-set. virtual-network may carry `vrf` (the agent's VRF id).
// Kinds the compiler does not use (network-ipam, domain, floating-ip, ...) are skipped.
//
// Tag references (tag_refs `to:` and firewall endpoint `tags`) may be full fq_names or
// TYPE=VALUE, resolved first in the referring object's project, then among global tags.
#include <string>

#include "vrfabric/policy/model.h"

namespace vrfabric::policy {

struct ReadOptions {
  // Unknown fields are errors for hand-written files (a misspelt field must not be ignored
  // silently). The controller has validated its objects against its own schema already,
  // which knows fields the compiler has no use for: it reads leniently, so adding a field
  // to the schema can never make the fabric's policy fail to compile.
  bool strict_fields = true;
};

// Throws PolicyError (bad object or field) with a "line N" hint where yaml-cpp gives one.
PolicyInput read_policy_yaml(const std::string& text, const ReadOptions& opts = {});

}  // namespace vrfabric::policy
