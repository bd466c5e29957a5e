#!/usr/bin/env bash
# Installs the Debian 12 packages that attachd needs to build, test and run
# its demo.  Idempotent: when every package is already installed it touches
# nothing (no apt-get update), so repeated runs take a fraction of a second.
#
# Usage: sudo bash scripts/install-deps.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PACKAGES=(
  # Build: Bazel 4.2.3 and the rules it would otherwise download.
  bazel-bootstrap bazel-rules-java bazel-platforms g++
  # Libraries linked from the system (third_party/).
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsystemd-dev libgtest-dev libgmock-dev libbenchmark-dev
  libarchive-dev libnl-3-dev libnl-route-3-dev libcap-dev libseccomp-dev
  libcli11-dev
  # Containers for tests and the demo.
  runc busybox-static
  # A second-language gRPC client, and the demo's JSON edits.
  python3 python3-grpcio
  # systemd-analyze and systemd-socket-activate (systemd need not run).
  systemd
  # Tools the scripts and tests call.
  iproute2 tmux clang-format util-linux procps git ca-certificates
)

missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null ||
    true)"
  if [[ "$status" != installed ]]; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

require_root scripts/install-deps.sh
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_options=(-o Acquire::Retries=3 -o DPkg::Lock::Timeout=300)
apt-get "${apt_options[@]}" update
apt-get "${apt_options[@]}" install -y --no-install-recommends "${missing[@]}"
