#!/usr/bin/env bash
# Builds what the end-to-end tests boot, from Debian packages only (see tests/fixtures/guest/README.md):
#
#   OUT_DIR/kernel/{vmlinuz,vmlinux,config,release}   Debian's stock kernel (fetch-guest-kernel.sh)
#   OUT_DIR/kernel/modules/*.ko                       the modules of tests/fixtures/guest/modules/l1.list and
#                                                     l2.list with their dependencies, and
#   OUT_DIR/kernel/modules/{l1,l2}.order              their load orders, one file name a line
#   OUT_DIR/l2/initramfs.cpio.gz                      busybox, the L2 modules, /init, /e2e/*.sh
#   OUT_DIR/l2/rootfs.ext4                            the same tree as a 64 MiB ext4 image
#   OUT_DIR/tools/vsock-echo                          static vsock/Unix-socket echo tool (guest and host side)
#   OUT_DIR/tools/e2e-bench                           static block/stream benchmark tool (guest and host side)
#   OUT_DIR/tools/ember-agent                         the guest agent (agent/), static; /bin/ember-agent in both images
#   OUT_DIR/manifest.txt                              "PATH SIZE SHA256" for every file above
#
# Usage: build-guest-artifacts.sh [OUT_DIR]      (default: build/guest-artifacts)
#        EMBER_AGENT=FILE build-guest-artifacts.sh ...   use that static ember-agent (e.g. CMake's
#        build/bin/ember-agent) instead of building it from agent/ with g++ -static
#
# Cached: the kernel is fetched only when missing (or when a listed module is missing); an image
# is rebuilt only when it is missing or when its inputs (this script, tests/fixtures/guest/initramfs/, the
# modules, busybox) differ from the ones it was built from; an unchanged file keeps its mtime.
# Needs: busybox-static, cpio, e2fsprogs, binutils, xz-utils (scripts/install-deps.sh), apt, g++.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/build/guest-artifacts}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
self="$root/scripts/build-guest-artifacts.sh"
guest="$root/tests/fixtures/guest"
kernel="$out/kernel"
busybox=/bin/busybox
rootfs_mib=64

log() { echo "build-guest-artifacts: $*"; }
die() { echo "build-guest-artifacts: $*" >&2; exit 1; }

for tool in cpio gzip mke2fs debugfs e2fsck objcopy readelf sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$busybox" ] || die "$busybox is missing (package busybox-static; scripts/install-deps.sh)"
# The guest has no shared libraries: a dynamically linked busybox would not start there.
readelf -l "$busybox" | grep -q INTERP && die "$busybox is dynamically linked; install busybox-static"

# One build at a time per OUT_DIR (tests running in parallel may all ask for the artifacts).
exec 9> "$out/.lock"
flock 9
scratch="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# --- Kernel and modules ----------------------------------------------------------------------

# The module names of a list file: one a line, '#' comments and blank lines ignored.
read_list() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n' | sed '/^$/d'; }
mapfile -t l1_names < <(read_list "$guest/modules/l1.list")
mapfile -t l2_names < <(read_list "$guest/modules/l2.list")
"$root/scripts/fetch-guest-kernel.sh" "$kernel" "${l1_names[@]}" "${l2_names[@]}"
release="$(cat "$kernel/release")"

# Replaces FILE with stdin only when the content differs, so unchanged outputs keep their mtime.
write_if_changed() {
  local tmp="$scratch/${1##*/}.new"
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# A module built for another kernel would fail insmod with "Invalid module format" in the guest.
modinfo_field() { objcopy -O binary --only-section=.modinfo "$1" /dev/stdout | tr '\0' '\n' | sed -n "s/^$2=//p"; }
for set in l1 l2; do
  names_var="${set}_names[@]"
  order="$("$guest/modules/module-order.sh" "$kernel/modules" "${!names_var}")" \
    || die "could not order the $set modules"
  order="$(printf '%s\n' "$order" | sed 's|.*/||')"
  while IFS= read -r ko; do
    vermagic="$(modinfo_field "$kernel/modules/$ko" vermagic)"
    [ "${vermagic%% *}" = "$release" ] || die "$ko is for kernel '${vermagic%% *}', not $release"
  done <<< "$order"
  printf '%s\n' "$order" | write_if_changed "$kernel/modules/$set.order"
done

# --- The L2 guest tree ------------------------------------------------------------------------

# The guest agent, built before the image inputs are listed: the images hold its binary. Built
# here with g++ -static from agent/ (no CMake build needed), again only when a source is
# newer; or taken from EMBER_AGENT.
agent="$out/tools/ember-agent"
mkdir -p "$out/tools"
if [ -n "${EMBER_AGENT:-}" ]; then
  [ -f "$EMBER_AGENT" ] && [ -x "$EMBER_AGENT" ] || die "EMBER_AGENT=$EMBER_AGENT is not an executable file"
  readelf -l "$EMBER_AGENT" | grep -q INTERP \
    && die "EMBER_AGENT=$EMBER_AGENT is dynamically linked; the guest has no shared libraries (link it -static)"
  cmp -s "$EMBER_AGENT" "$agent" || cp "$EMBER_AGENT" "$agent"
else
  # The agent's payload codec is base/byte_codec.cc; of base/ it uses only that and headers.
  agent_sources=("$root"/agent/{protocol,frame_io,command,session,main}.cc "$root"/base/byte_codec.cc)
  agent_stale=0
  [ -x "$agent" ] || agent_stale=1
  for src in "${agent_sources[@]}" "$root"/agent/*.h "$root"/base/{result,unique_fd,errno_error,byte_codec}.h; do
    if [ "$src" -nt "$agent" ]; then agent_stale=1; fi
  done
  if [ "$agent_stale" = 1 ]; then
    command -v g++ >/dev/null || die "g++ is missing: it builds the guest agent (or set EMBER_AGENT=FILE)"
    version="$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
    g++ -std=c++20 -static -O2 -Wall -Wextra -Werror -I"$root" -DEMBER_VERSION="\"${version:-dev}\"" \
      -o "$agent.new" "${agent_sources[@]}" || die "could not build the guest agent"
    mv "$agent.new" "$agent"
    log "built $agent"
  fi
fi

# Everything the initramfs and the rootfs image are made from, as "sha256  path" lines: an image
# whose recorded inputs differ from these is rebuilt.
l2_inputs() {
  {
    echo "$self"
    echo "$busybox"
    echo "$agent"
    find "$guest/initramfs" "$guest/tools" -type f
    echo "$kernel/modules/l2.order"
    sed "s|^|$kernel/modules/|" "$kernel/modules/l2.order"
  } | LC_ALL=C sort | xargs -d '\n' sha256sum
}
l2_inputs > "$scratch/l2.inputs"

# Small static tools the scenarios run in the guest (and the harness on the host side).
tools="$out/tools"
mkdir -p "$tools"
if [ ! -x "$tools/vsock-echo" ] || [ "$guest/tools/vsock_echo.c" -nt "$tools/vsock-echo" ]; then
  gcc -static -O2 -Wall -Wextra -Werror -o "$tools/vsock-echo.new" "$guest/tools/vsock_echo.c"
  mv "$tools/vsock-echo.new" "$tools/vsock-echo"
fi
if [ ! -x "$tools/e2e-bench" ] || [ "$guest/tools/e2e_bench.c" -nt "$tools/e2e-bench" ]; then
  gcc -static -O2 -Wall -Wextra -Werror -o "$tools/e2e-bench.new" "$guest/tools/e2e_bench.c"
  mv "$tools/e2e-bench.new" "$tools/e2e-bench"
fi

# True when TARGET is missing or was built from other inputs than INPUTS_FILE lists.
stale() { [ ! -s "$1" ] || ! cmp -s "$2" "$1.inputs"; }
# Records INPUTS_FILE as what TARGET was built from.
built_from() { cp "$2" "$1.inputs"; }

# Fills DIR with the guest's file tree: busybox and its applet links, /init, the scenarios, and
# the L2 modules with their load order.
stage_l2_tree() {
  local dir="$1"
  mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root,e2e,lib/modules}
  cp "$busybox" "$dir/bin/busybox"
  local applet
  while IFS= read -r applet; do
    case "$applet" in
      linuxrc | sbin/init) continue ;;   # /init is ours; busybox init would spawn its own shells
      bin/busybox) continue ;;           # Debian's list names the binary itself too
    esac
    mkdir -p "$dir/$(dirname "$applet")"
    ln -s /bin/busybox "$dir/$applet"
  done < <("$busybox" --list-full)
  install -m 0755 "$guest/initramfs/init" "$dir/init"
  install -m 0755 "$tools/vsock-echo" "$dir/bin/vsock-echo"
  install -m 0755 "$tools/e2e-bench" "$dir/bin/e2e-bench"
  install -m 0755 "$agent" "$dir/bin/ember-agent"
  install -m 0755 "$guest"/initramfs/e2e/*.sh "$dir/e2e/"
  cp "$kernel/modules/l2.order" "$dir/lib/modules/"
  sed "s|^|$kernel/modules/|" "$kernel/modules/l2.order" | xargs -d '\n' cp -t "$dir/lib/modules/"
  chmod 1777 "$dir/tmp"
  chmod 0700 "$dir/root"
  # Fixed timestamps, so that the same inputs give the same image bytes.
  find "$dir" -exec touch -h -d @0 {} +
}

# A newc cpio entry for the character device /dev/console (5, 1) and an archive trailer, written
# by hand so that no mknod (root) is needed: the kernel opens /dev/console for init before any
# devtmpfs is mounted. The kernel unpacks concatenated archives and skips the zero padding
# between them. Format: Documentation/driver-api/early-userspace/buffer-format.rst.
newc_entry() {  # NAME MODE RDEVMAJOR RDEVMINOR: header, NUL-terminated name padded to 4 bytes
  local name="$1" namesize=$(( ${#1} + 1 ))
  # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    1 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
  printf '%s\0' "$name"
  local pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  head -c "$pad" /dev/zero
}
console_archive() {
  newc_entry dev/console $(( 0020000 | 0600 )) 5 1   # S_IFCHR, rw for root
  newc_entry 'TRAILER!!!' 0 0 0
}

l2_dir="$out/l2"
mkdir -p "$l2_dir"

initramfs="$l2_dir/initramfs.cpio.gz"
if stale "$initramfs" "$scratch/l2.inputs"; then
  stage_l2_tree "$scratch/initramfs"
  (
    cd "$scratch/initramfs"
    find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible
    console_archive
  ) | gzip -9 -n > "$scratch/initramfs.cpio.gz"
  mv "$scratch/initramfs.cpio.gz" "$initramfs"
  built_from "$initramfs" "$scratch/l2.inputs"
  log "built $initramfs"
fi

rootfs="$l2_dir/rootfs.ext4"
if stale "$rootfs" "$scratch/l2.inputs"; then
  stage_l2_tree "$scratch/rootfs"
  touch -d @0 "$scratch/rootfs/etc/ember-rootfs"   # tells /init it already runs from the disk
  img="$scratch/rootfs.ext4"
  truncate -s "${rootfs_mib}M" "$img"
  # (Not byte-reproducible: inodes keep the staging files' ctimes, which touch cannot set.)
  mke2fs -q -F -t ext4 -L ember-l2 -E root_owner=0:0 -d "$scratch/rootfs" "$img"
  # debugfs makes the device node without root; its mknod takes a name in the current folder.
  printf '%s\n' "cd /dev" "mknod console c 5 1" "set_inode_field console mode 020600" \
    > "$scratch/debugfs.cmds"
  debugfs -w -f "$scratch/debugfs.cmds" "$img" >/dev/null 2>&1
  debugfs -R "stat /dev/console" "$img" 2>/dev/null | grep -q "Type: character special *Mode:  0600" \
    || die "could not create /dev/console in $img"
  e2fsck -fn "$img" >/dev/null 2>&1 || die "e2fsck finds errors in the new $img"
  mv "$img" "$rootfs"
  built_from "$rootfs" "$scratch/l2.inputs"
  log "built $rootfs"
fi

# --- Manifest ---------------------------------------------------------------------------------

(
  cd "$out"
  {
    printf '%s\n' kernel/vmlinuz kernel/vmlinux kernel/config kernel/release
    find kernel/modules -maxdepth 1 -type f | LC_ALL=C sort
    printf '%s\n' l2/initramfs.cpio.gz l2/rootfs.ext4
  } | while IFS= read -r f; do
    printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)"
  done
) | write_if_changed "$out/manifest.txt"
log "kernel $release; artifacts in $out (manifest.txt lists them)"
