#!/usr/bin/env bash
# Installs dependencies, builds everything, runs every test (unit and integration), then
# the bounded libFuzzer runs (a clang build of the fuzz targets only).
# Extra arguments go to the main ctest run, e.g. `scripts/test.sh -L unit` or `-R overlay`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure "$@"
if [ $# -eq 0 ]; then
  cmake -S . -B build-fuzz -DVRFABRIC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  cmake --build build-fuzz -j"$(nproc)" --target bgp_fuzz_decoder dhcp_fuzz http_json_fuzz request_fuzz
  ctest --test-dir build-fuzz -L fuzz --output-on-failure
fi
