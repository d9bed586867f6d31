# emberctl pool against ember's snapshots: create a pool (boot, agent ready, pause, snapshot),
# run three clones at once (each its own ember and vsock socket; the clock is set from L1), list
# it, remove it.
. "$L1_SCRIPTS/emberctl_lib.sh"

pools="$SCRATCH/pools"
# shellcheck disable=SC2086
"$EMBERCTL" pool create ci --pool-dir "$pools" --ember "$EMBER" $ectl_vm_args --kernel-args lpj=1904640 \
  > "$SCRATCH/create.out" 2> "$SCRATCH/create.err"
status=$?
show "$SCRATCH/create.out" create
show "$SCRATCH/create.err" create
l1_say "emberctl pool create status $status"
[ "$status" = 0 ] || l1_fail "pool create"
l1_say "emberctl pool files $(ls "$pools/ci" | tr '\n' ' ')"

started=$(date +%s)
for i in 1 2 3; do
  "$EMBERCTL" pool run ci --pool-dir "$pools" --ember "$EMBER" --json \
    -- sh -c "echo clone$i \$(date +%s); exit $((10 + i))" > "$SCRATCH/run$i.out" 2> "$SCRATCH/run$i.err" &
  eval "pid$i=\$!"
done
for i in 1 2 3; do
  eval "wait \$pid$i"
  eval "s$i=\$?"
done
ended=$(date +%s)
for i in 1 2 3; do
  show "$SCRATCH/run$i.out" "run$i"
  show "$SCRATCH/run$i.err" "run$i"
  eval "s=\$s$i"
  set -- $(head -n 1 "$SCRATCH/run$i.out")
  l1_say "emberctl pool run $i status $s output ${1-none}"
  # SET_CLOCK: the clone's clock is L1's, not the snapshot's: the guest's date, read while the
  # command ran, lies between L1's clock before the runs started and after they ended (to the
  # second: `date +%s` truncates).
  [ -n "${2-}" ] && [ "$2" -ge "$started" ] && [ "$2" -le "$ended" ] &&
    l1_say "emberctl pool run $i clock synced ($started <= $2 <= $ended)"
done
"$EMBERCTL" pool ls --pool-dir "$pools" | grep -q '^ci ' && l1_say "emberctl pool listed"
"$EMBERCTL" pool rm ci --pool-dir "$pools" && [ ! -e "$pools/ci" ] && l1_say "emberctl pool removed"
check_nothing_left
