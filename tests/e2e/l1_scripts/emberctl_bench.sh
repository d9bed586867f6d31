# The emberctl benchmark's L1 side (benchmarks/emberctl_bench.py), not a test scenario:
#   cold   `emberctl run -- true`: boot, agent, command, teardown; BENCH_RUNS times
#   warm   `emberctl pool run -- true` from a pool made once: restore, clock, command, teardown
#   memory 10 warm clones running at once (each in `sleep`) against one cold VM, the proportional
#          set size (PSS) of their ember processes
# One line per figure: "E2E-L1S ebench <what> ...", times in milliseconds from /proc/uptime.
. "$L1_SCRIPTS/emberctl_lib.sh"

runs=${BENCH_RUNS:-3}
clones=${BENCH_CLONES:-10}
now_ms() { _u=$(cut -d' ' -f1 /proc/uptime); echo $((${_u%.*} * 1000 + 10 * ${_u#*.})); }

# pss_of_embers: the summed PSS (KiB) of the ember processes emberctl started under $TMPDIR.
pss_of_embers() {
  _sum=0
  _n=0
  for _p in /proc/[0-9]*; do
    _cmd=$(tr '\0' ' ' < "$_p/cmdline" 2> /dev/null) || continue
    case "$_cmd" in *"--api-sock $TMPDIR"*) ;; *) continue ;; esac
    _k=$(awk '/^Pss:/ {print $2}' "$_p/smaps_rollup" 2> /dev/null)
    [ -n "$_k" ] || continue
    _sum=$((_sum + _k))
    _n=$((_n + 1))
  done
  echo "$_n $_sum"
}

# wait_embers N SECONDS: until N such ember processes exist.
wait_embers() {
  _w=0
  until [ "$(pss_of_embers | cut -d' ' -f1)" -ge "$1" ]; do
    [ $_w -ge $(($2 * 10)) ] && return 1
    sleep 0.1
    _w=$((_w + 1))
  done
}

i=1
while [ $i -le "$runs" ]; do
  t0=$(now_ms)
  ectl_run -- true > /dev/null 2>&1
  s=$?
  l1_say "ebench cold $i $(($(now_ms) - t0)) status $s"
  i=$((i + 1))
done

pools="$SCRATCH/pools"
t0=$(now_ms)
# shellcheck disable=SC2086
"$EMBERCTL" pool create bench --pool-dir "$pools" --ember "$EMBER" $ectl_vm_args --kernel-args lpj=1904640 \
  > /dev/null 2> "$SCRATCH/create.err" || { show "$SCRATCH/create.err" create; l1_fail "pool create"; }
l1_say "ebench pool-create $(($(now_ms) - t0))"
i=1
while [ $i -le "$runs" ]; do
  t0=$(now_ms)
  "$EMBERCTL" pool run bench --pool-dir "$pools" --ember "$EMBER" -- true > /dev/null 2>&1
  s=$?
  l1_say "ebench warm $i $(($(now_ms) - t0)) status $s"
  i=$((i + 1))
done

# Memory: one cold VM in its command, then the clones all in theirs.
ectl_run -- sleep 60 > /dev/null 2>&1 &
cold=$!
wait_embers 1 300 || l1_fail "no cold ember"
sleep 20  # booted and in `sleep` by now (the boot takes 10-40 s nested)
l1_say "ebench pss cold-one $(pss_of_embers)"
kill $cold
wait $cold 2> /dev/null
# Its ember must be gone before the clones are counted.
w=0
while [ "$(pss_of_embers | cut -d' ' -f1)" -gt 0 ]; do
  [ $w -ge 300 ] && l1_fail "the cold VM's ember did not end"
  sleep 0.1
  w=$((w + 1))
done
i=1
while [ $i -le "$clones" ]; do
  "$EMBERCTL" pool run bench --pool-dir "$pools" --ember "$EMBER" -- sleep 60 > /dev/null 2>&1 &
  i=$((i + 1))
done
wait_embers "$clones" 120 || l1_fail "not every clone started"
sleep 20
l1_say "ebench pss warm-clones $(pss_of_embers)"
l1_say "ebench done"
exit 0
