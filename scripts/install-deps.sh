#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages (Debian 12, as root).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libboost-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libseccomp-dev liburing-dev
  liblzma-dev zlib1g-dev libzstd-dev liblz4-dev libbz2-dev
  clang libclang-rt-14-dev
  qemu-system-x86 busybox-static cpio e2fsprogs xz-utils binutils iproute2 curl
  python3 ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
