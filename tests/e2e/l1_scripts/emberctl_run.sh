# emberctl run end to end: a command's stdout and stderr both arrive, emberctl exits with its
# status (7), --json adds its line after the output, and nothing is left behind.
. "$L1_SCRIPTS/emberctl_lib.sh"

ectl_run --json -- sh -c 'echo out; echo err >&2; exit 7' > "$SCRATCH/out" 2> "$SCRATCH/err"
status=$?
show "$SCRATCH/out" stdout
show "$SCRATCH/err" stderr
l1_say "emberctl run status $status"
l1_say "emberctl run stdout first line $(head -n 1 "$SCRATCH/out")"
grep -qx err "$SCRATCH/err" && l1_say "emberctl run stderr has err"
tail -n 1 "$SCRATCH/out" | grep -q '"command_exit_code":7' && l1_say "emberctl run json command_exit_code 7"
check_nothing_left
