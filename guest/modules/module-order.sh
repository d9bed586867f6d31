#!/usr/bin/env bash
# Prints the load order of kernel modules, computed from the modules themselves.
#
# Usage: module-order.sh MODDIR NAME...
#
# MODDIR is searched recursively for NAME.ko files (an unpacked kernel package's
# lib/modules/<release>, or a flat folder of copied modules). For each NAME the script prints,
# one per line, the path (relative to MODDIR) of that module and of every module it needs,
# each dependency before the modules that use it and each module once. The NAMEs' own order is
# kept wherever the dependencies allow, so a list that names crc32c_generic before ext4 loads it
# first even though only a soft dependency links them.
#
# Dependencies come from the "depends=" entry of each module's .modinfo section (the same field
# `modinfo -F depends` shows). No modules.dep is needed: Debian's kernel package ships none, as
# depmod writes it at install time. Module names compare with '-' and '_' as equals, as the
# kernel does. A NAME that MODDIR/modules.builtin lists is built into the kernel: it is noted on
# stderr and left out. A NAME or dependency that is neither a module file nor built in is an
# error (exit 1), as is a dependency cycle.
set -euo pipefail

moddir="${1:?usage: module-order.sh MODDIR NAME...}"
moddir="${moddir%/}"
shift
[ -d "$moddir" ] || { echo "module-order: $moddir is not a folder" >&2; exit 1; }
command -v objcopy >/dev/null || { echo "module-order: objcopy (binutils) is needed" >&2; exit 1; }

normalise() { printf '%s' "${1//-/_}"; }

# name -> path relative to MODDIR, for every uncompressed module under MODDIR.
declare -A path_of=()
while IFS= read -r -d '' ko; do
  rel="${ko#"$moddir"/}"
  base="${rel##*/}"
  path_of["$(normalise "${base%.ko}")"]="$rel"
done < <(find "$moddir" -name '*.ko' -type f -print0)

declare -A builtin=()
if [ -f "$moddir/modules.builtin" ]; then
  while IFS= read -r line; do
    base="${line##*/}"
    builtin["$(normalise "${base%.ko}")"]=1
  done < "$moddir/modules.builtin"
fi

# The comma-separated module names a module needs, read from its .modinfo section.
depends_of() {
  objcopy -O binary --only-section=.modinfo "$moddir/$1" /dev/stdout 2>/dev/null \
    | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1
}

declare -A state=()   # absent: not seen; visiting: on the DFS stack; done: printed
visit() {
  local name
  name="$(normalise "$1")"
  case "${state[$name]:-}" in
    done) return 0 ;;
    visiting) echo "module-order: dependency cycle through $name" >&2; exit 1 ;;
  esac
  local rel="${path_of[$name]:-}"
  if [ -z "$rel" ]; then
    if [ -n "${builtin[$name]:-}" ]; then
      echo "module-order: $1 is built into the kernel; nothing to load" >&2
      state[$name]="done"
      return 0
    fi
    if [ -n "$(find "$moddir" -name "$1.ko.*" -print -quit)" ]; then
      echo "module-order: $1 is only there compressed; compressed modules are not supported" >&2
    else
      echo "module-order: no module $1 (as $1.ko) under $moddir" >&2
    fi
    exit 1
  fi
  state[$name]="visiting"
  local deps dep
  deps="$(depends_of "$rel")"
  local IFS=,
  for dep in $deps; do
    [ -n "$dep" ] && visit "$dep"
  done
  state[$name]="done"
  printf '%s\n' "$rel"
}

for wanted in "$@"; do
  visit "$wanted"
done
