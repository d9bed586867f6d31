#!/usr/bin/env bash
# Fetches Debian's stock kernel package (never installs it) and leaves in DIR:
#   vmlinuz  - the bzImage as Debian ships it
#   vmlinux  - the ELF kernel extracted from the bzImage's compressed payload
#   config   - the kernel's build configuration
#   release  - the kernel release (`uname -r` in a guest), e.g. 6.1.0-56-amd64
# With MODULE names, also:
#   modules/ - those modules and every module they depend on (transitively), as flat NAME.ko
#              files, plus the package's modules.builtin; all from the same package as vmlinuz
# Usage: fetch-guest-kernel.sh DIR [MODULE...]
#   Does nothing when DIR already holds vmlinuz, vmlinux and config (and, with MODULEs, release
#   and every named module with its dependencies). Otherwise it fetches everything again, so
#   the kernel and its modules always come from one package.
set -euo pipefail
dir="${1:?usage: fetch-guest-kernel.sh DIR [MODULE...]}"
shift
modules=("$@")
module_order="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures/guest/modules/module-order.sh"
mkdir -p "$dir"
cd "$dir"

have_all() {
  [ -s vmlinuz ] && [ -s vmlinux ] && [ -s config ] || return 1
  [ "${#modules[@]}" -eq 0 ] && return 0
  [ -s release ] && [ -d modules ] && "$module_order" modules "${modules[@]}" >/dev/null 2>&1
}
if have_all; then exit 0; fi

work="$(mktemp -d "$PWD/.fetch.XXXXXX")"
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
release="$(basename "$work"/root/boot/vmlinuz-*)"
echo "${release#vmlinuz-}" > "$work/release"

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

if [ "${#modules[@]}" -gt 0 ]; then
  # Only the needed modules leave the work folder: the package's whole tree is ~400 MB.
  tree="$(echo "$work"/root/lib/modules/*)"
  mkdir "$work/modules"
  cp "$tree/modules.builtin" "$work/modules/"
  "$module_order" "$tree" "${modules[@]}" > "$work/module-paths"
  while IFS= read -r rel; do
    cp "$tree/$rel" "$work/modules/"
  done < "$work/module-paths"
  rm -rf "$PWD/modules"
  mv "$work/modules" "$PWD/modules"
fi
mv "$work/vmlinuz" "$work/vmlinux" "$work/config" "$work/release" "$PWD/"
echo "fetch-guest-kernel: $(file -b "$PWD/vmlinuz" 2>/dev/null | cut -c1-60 || echo vmlinuz) in $PWD${modules:+ with $(wc -l < "$work/module-paths") modules}"
