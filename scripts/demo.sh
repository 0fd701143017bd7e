#!/usr/bin/env bash
# The main job: installs dependencies, builds, and brings up the all-in-one demo (hosts and
# workloads as network namespaces, a vr-agent per host). `scripts/demo.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-up}" = down ]; then
  exec python3 integration/demo.py down
fi
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
exec python3 integration/demo.py up build
