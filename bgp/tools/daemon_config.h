// vr-bgpd configuration: a YAML file, overridden by command-line flags.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vrfabric/bgp/speaker.h"

namespace vrfabric::bgp::daemon {

struct DaemonConfig {
  SpeakerConfig speaker;
  std::vector<PeerConfig> peers;
  std::vector<nlohmann::json> routes;  // route descriptions, see routeFromJson()
  std::string apiAddress = "127.0.0.1";
  uint16_t apiPort = 50179;
  // The API's bearer token lives here (created 0600 when absent); without it the API is off.
  std::string apiTokenFile;
  std::string logLevel = "info";
  // Benchmark helper: originate this many EVPN type-2 routes at start.
  uint32_t blast = 0;
  std::string blastRd = "192.0.2.1:1";
  std::string blastNextHop = "192.0.2.1";
};

// Parses argv (and the --config file it names). Throws std::invalid_argument with
// a message meant for the user. Sets *help when --help was given.
DaemonConfig parseConfig(int argc, char** argv, bool* help);
const char* usage();

}  // namespace vrfabric::bgp::daemon
