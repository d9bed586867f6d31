# A command the guest does not have: emberctl exits 69 and says so.
. "$L1_SCRIPTS/emberctl_lib.sh"

ectl_run -- ember-no-such-command --flag > "$SCRATCH/out" 2> "$SCRATCH/err"
status=$?
show "$SCRATCH/err" stderr
l1_say "emberctl missing status $status"
grep -q "command not found: ember-no-such-command" "$SCRATCH/err" && l1_say "emberctl missing message ok"
check_nothing_left
