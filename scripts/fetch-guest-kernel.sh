#!/usr/bin/env bash
# Fetches Debian's stock kernel package (never installs it) and leaves in DIR:
#   vmlinuz  - the bzImage as Debian ships it
#   vmlinux  - the ELF kernel extracted from the bzImage's compressed payload
#   config   - the kernel's build configuration
# Usage: fetch-guest-kernel.sh DIR   (does nothing when DIR already holds all three)
set -euo pipefail
dir="${1:?usage: fetch-guest-kernel.sh DIR}"
mkdir -p "$dir"
cd "$dir"
if [ -s vmlinuz ] && [ -s vmlinux ] && [ -s config ]; then exit 0; fi

work="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  # The meta package names the current kernel image package; download both without installing.
  apt-get download linux-image-amd64 >/dev/null 2>&1 || { apt-get update -qq && apt-get download linux-image-amd64 >/dev/null; }
  image_pkg="$(dpkg-deb -f linux-image-amd64_*.deb Depends | sed -e 's/ .*//' -e 's/,.*//')"
  apt-get download "$image_pkg" >/dev/null
  dpkg-deb -x "${image_pkg}"_*.deb root
)
cp "$work"/root/boot/vmlinuz-* "$work/vmlinuz"
cp "$work"/root/boot/config-* "$work/config"

# Linux boot protocol: the payload sits at payload_offset (setup header 0x248) from the start
# of the protected-mode kernel, which begins after (setup_sects + 1) * 512 bytes; it is the
# compressed ELF vmlinux. Debian compresses with xz.
read_le() { od -An -t u"$2" -j "$1" -N "$2" "$work/vmlinuz" | tr -d ' '; }
setup_sects="$(read_le $((0x1f1)) 1)"
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_offset="$(read_le $((0x248)) 4)"
payload_length="$(read_le $((0x24c)) 4)"
start=$(( (setup_sects + 1) * 512 + payload_offset ))
tail -c +$((start + 1)) "$work/vmlinuz" | head -c "$payload_length" | xz -dc -q > "$work/vmlinux" 2>/dev/null || true
head -c 4 "$work/vmlinux" | grep -q "ELF" || { echo "fetch-guest-kernel: could not extract an ELF from the payload" >&2; exit 1; }
mv "$work/vmlinuz" "$work/vmlinux" "$work/config" "$dir/"
echo "fetch-guest-kernel: $(file -b "$dir/vmlinuz" 2>/dev/null | cut -c1-60 || echo vmlinuz) in $dir"
