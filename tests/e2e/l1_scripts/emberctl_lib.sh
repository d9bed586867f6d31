# Shared by the emberctl_* scenario scripts (not a scenario itself): emberctl driving ember with
# this run's guest artifacts, and the check that a run left nothing behind.
. "$L1_SCRIPTS/lib.sh"

[ -n "${EMBERCTL-}" ] || l1_fail "no emberctl in L1: build emberctl-static next to ember-static"
# emberctl's scratch folders go here, so that anything left behind is easy to see.
export TMPDIR="$SCRATCH/tmp"
mkdir -p "$TMPDIR"

# The guest command line emberctl builds has no lpj=; nested L2 boots need it (TESTING.md).
ectl_vm_args="--kernel $L2_KERNEL --initrd $L2_INITRAMFS --cpus $E2E_VCPUS --mem $E2E_MEM_MIB"

# ectl_run ARGS...: emberctl run with the scenario's kernel, initramfs, rootfs, vCPUs, memory.
ectl_run() {
  # shellcheck disable=SC2086
  "$EMBERCTL" run --ember "$EMBER" $ectl_vm_args --rootfs "$L2_ROOTFS" --kernel-args lpj=1904640 "$@"
}

# check_nothing_left: no ember process of emberctl's (their --api-sock is under $TMPDIR), no
# scratch folder or socket under $TMPDIR, no tap named ember*. Says what it found.
check_nothing_left() {
  _left=""
  for _p in /proc/[0-9]*; do
    _cmd=$(tr '\0' ' ' < "$_p/cmdline" 2> /dev/null) || continue
    case "$_cmd" in *"--api-sock $TMPDIR"*) _left="$_left process:${_p#/proc/}" ;; esac
  done
  for _f in "$TMPDIR"/*; do
    [ -e "$_f" ] && _left="$_left file:$_f"
  done
  for _n in /sys/class/net/ember*; do
    [ -e "$_n" ] && _left="$_left tap:${_n##*/}"
  done
  if [ -z "$_left" ]; then
    l1_say "emberctl nothing left behind"
  else
    l1_say "emberctl left behind:$_left"
  fi
}

# show FILE WHAT: FILE's lines on stderr (the scenario's log), for a failure's diagnosis.
show() { sed "s/^/$2: /" "$1" >&2; }
