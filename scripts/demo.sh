#!/usr/bin/env bash
# Builds ember and boots demo microVMs:
#   1. the `hello` and `smp` test guests (2 vCPUs), which run to completion and reset;
#   2. Debian's stock kernel to a busybox shell (interactive on a terminal; otherwise a few
#      scripted scenarios), directly or nested (see the README).
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

# Debian's stock kernel to a busybox shell: directly on a host with hardware virtualization, or
# inside a QEMU-emulated VM that has it (nested mode; this machine's own /dev/kvm emulates guest
# kernels and cannot run one to userspace). e2e.py says which mode and why.
"$root/scripts/build-guest-artifacts.sh" "$root/build/guest-artifacts"
if [ -t 0 ] && [ -t 1 ]; then
  echo "== ember boots Debian's kernel to a shell in the guest ('poweroff -f' ends it)"
  python3 "$root/tests/e2e/e2e.py" shell --artifacts "$root/build/guest-artifacts" \
    --ember "$root/build/bin/ember-static" || true
else
  echo "== ember boots Debian's kernel to userspace (bzImage; 2 vCPUs; root on virtio-block; vsock)"
  python3 "$root/tests/e2e/e2e.py" run --only boot_bzimage --only smp --only block_rootfs --only vsock \
    --artifacts "$root/build/guest-artifacts" --ember "$root/build/bin/ember-static" \
    --results "$tmp/e2e.json" || true
fi
