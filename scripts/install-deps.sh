#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the benchmarks and the demo need.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake pkg-config git python3
  clang llvm lld libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev
  libnl-3-dev libnl-route-3-dev
  libcpp-httplib-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libsqlite3-dev sqlite3
  doctest-dev nlohmann-json3-dev libssl-dev
  iproute2 iputils-ping netcat-openbsd tshark tcpdump ethtool procps psmisc curl gdb nftables
  frr gobgpd busybox-static isc-dhcp-client
  libclang-rt-14-dev
  openssl  # the TLS tests make a throwaway CA and certificates with its CLI
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# libbpf and bpftool expect bpffs mounted (nothing of ours pins: maps live as long as the agent).
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "dependencies ready"
