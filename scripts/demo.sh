#!/usr/bin/env bash
# Builds ember and boots demo microVMs:
#   1. the `hello` and `smp` test guests (2 vCPUs), which run to completion and reset;
#   2. Debian's stock kernel (bzImage), until its first console lines when this host has no
#      hardware virtualization (its /dev/kvm then emulates guest-kernel code; see README).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
ember="$root/build/bin/ember"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

vm() {  # kernel vcpus boot_args
  printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}, "machine-config": {"vcpu_count": %s, "mem_size_mib": 256}}\n' \
    "$1" "$3" "$2" > "$tmp/vm.json"
}

echo "== ember boots the hello test guest"
vm "$root/build/guests/hello.elf" 1 "console=ttyS0"
"$ember" --no-api --boot-timer --config-file "$tmp/vm.json"
echo "== exit status $?"

echo "== ember boots the smp test guest on 2 vCPUs"
vm "$root/build/guests/smp.elf" 2 "console=ttyS0"
"$ember" --no-api --config-file "$tmp/vm.json"
echo "== exit status $?"

kdir="$root/build/guest-artifacts/kernel"
"$root/scripts/fetch-guest-kernel.sh" "$kdir"
vm "$kdir/vmlinuz" 1 "console=ttyS0 earlyprintk=ttyS0 reboot=k panic=1 pci=off nomodule lpj=1904640"
if grep -qE 'vmx|svm' /proc/cpuinfo; then
  echo "== ember boots Debian's kernel (hardware virtualization present)"
  timeout "${EMBER_DEMO_TIMEOUT:-120}" "$ember" --no-api --config-file "$tmp/vm.json" || true
else
  echo "== ember boots Debian's kernel; this host's /dev/kvm has no vmx/svm and emulates the guest"
  echo "== kernel, which stops early: showing its first console lines (up to ${EMBER_DEMO_TIMEOUT:-90} s)"
  timeout "${EMBER_DEMO_TIMEOUT:-90}" "$ember" --no-api --config-file "$tmp/vm.json" || true
fi
