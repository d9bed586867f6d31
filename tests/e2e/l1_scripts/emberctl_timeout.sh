# --timeout: the command outlives it, emberctl kills the VM and exits 70, leaving no process,
# scratch folder, socket or tap (the run has --net) behind.
. "$L1_SCRIPTS/emberctl_lib.sh"

ectl_run --net --timeout 100 --json -- sh -c 'echo started; exec sleep 1000' \
  > "$SCRATCH/out" 2> "$SCRATCH/err"
status=$?
show "$SCRATCH/out" stdout
show "$SCRATCH/err" stderr
l1_say "emberctl timeout status $status"
grep -q '"timed_out":true' "$SCRATCH/out" && l1_say "emberctl timeout json timed_out true"
# Whether the guest got as far as the command (it usually does: boots take 15-55 s here).
grep -qx started "$SCRATCH/out" && l1_say "emberctl timeout the command had started"
check_nothing_left
