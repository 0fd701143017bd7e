// libFuzzer entry point for the BGP message decoder (built with VRFABRIC_FUZZ=ON).
#include "decode_one.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vrfabric::bgp::fuzz::decodeOne(data, size);
  return 0;
}
