#!/usr/bin/env bash
# Installs dependencies, builds everything, runs every test (unit and integration).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit` or `-R overlay`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure "$@"
