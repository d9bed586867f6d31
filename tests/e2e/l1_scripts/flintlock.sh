# ember launched the way flintlock launches Firecracker (infrastructure/microvm/firecracker):
# the binary under the name `firecracker`, `--id ID --boot-timer --no-api --config-file F`
# (flintlock's `--metadata` is left out: MMDS is a later issue), with the config file in the
# shape flintlock writes on x86_64 ("smt": true, a logger with show_level/show_log_origin,
# metrics). Debian's kernel boots to userspace (the guest's `boot` scenario) and powers off,
# which ends ember with status 0. While it runs, the vCPU threads must carry Firecracker's names
# (`fc_vcpu N`), which orchestrators look up to pin them.
. "$L1_SCRIPTS/lib.sh"

ln -s "$EMBER" "$SCRATCH/firecracker" || l1_fail "symlink"
cat > "$SCRATCH/firecracker.cfg" <<JSON
{
  "boot-source": {"kernel_image_path": "$L2_KERNEL", "initrd_path": "$L2_INITRAMFS",
                  "boot_args": "$BOOT_ARGS"},
  "drives": [],
  "machine-config": {"vcpu_count": $E2E_VCPUS, "mem_size_mib": $E2E_MEM_MIB, "smt": true,
                     "track_dirty_pages": false},
  "network-interfaces": [],
  "logger": {"log_path": "$SCRATCH/firecracker.log", "level": "Debug", "show_level": true,
             "show_log_origin": true},
  "metrics": {"metrics_path": "$SCRATCH/firecracker.metrics"}
}
JSON
: > "$SCRATCH/firecracker.log"
: > "$SCRATCH/firecracker.metrics"
l1_say "flintlock starting firecracker"
"$SCRATCH/firecracker" --id "$E2E_NAME" --boot-timer --no-api --config-file "$SCRATCH/firecracker.cfg" \
  > "$SCRATCH/console" 2> "$SCRATCH/stderr" < /dev/null &
vmm=$!

# The vCPU threads' names, as /proc shows them to an orchestrator, while the guest runs.
w=0
names=""
while kill -0 $vmm 2> /dev/null && [ $w -lt 600 ]; do
  names=$(cat /proc/$vmm/task/*/comm 2> /dev/null | sort | tr '\n' ',')
  case "$names" in *"fc_vcpu $((E2E_VCPUS - 1))"*) break ;; esac
  sleep 0.1
  w=$((w + 1))
done
l1_say "flintlock threads $names"

wait $vmm
status=$?
cat "$SCRATCH/console"
l1_say "flintlock firecracker exited with status $status"
grep -q "DEBUG\|INFO" "$SCRATCH/firecracker.log" && l1_say "flintlock log file written"
[ -s "$SCRATCH/stderr" ] && l1_say "flintlock stderr: $(tail -n 1 "$SCRATCH/stderr")"
exit 0
