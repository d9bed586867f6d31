#!/usr/bin/env bash
# Builds ember twice and runs every test:
#   build/       RelWithDebInfo: unit tests, KVM tests with the test guests and Debian's kernel
#   build-asan/  ASan+UBSan: unit tests
# Needs root on a fresh Debian 12 machine for the package install (scripts/install-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${EMBER_JOBS:-$(nproc)}"

"$root/scripts/install-deps.sh"

echo "== build (sanitizers: address, undefined)"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMBER_SANITIZE=ON \
  -DEMBER_BUILD_GUESTS=OFF >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target unit_tests

echo "== build"
"$root/scripts/build.sh"

# Debian's stock kernel for the real-kernel tests (cached; fetched with apt-get download).
export EMBER_GUEST_KERNEL_DIR="$root/build/guest-artifacts/kernel"
"$root/scripts/fetch-guest-kernel.sh" "$EMBER_GUEST_KERNEL_DIR"
# Guest artifacts for the end-to-end tests (cached): kernel, modules, L2 initramfs, rootfs.
"$root/scripts/build-guest-artifacts.sh" "$root/build/guest-artifacts"

status=0
echo "== unit tests (ASan+UBSan)"
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" -L unit) || status=1
echo "== all tests"
(cd "$root/build" && ctest --output-on-failure -j "$jobs") || status=1
exit $status
