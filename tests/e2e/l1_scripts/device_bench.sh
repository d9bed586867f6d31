# benchmarks/device_bench.py's L1 side: the same L2 guest (tests/fixtures/guest/initramfs/e2e/devbench.sh) on
# ember and on QEMU's microvm machine (-accel kvm, virtio-mmio devices), with the same backing
# file, the same tap and the same host-side tool (e2e-bench), alternating VMM by VMM in the order
# A B B A A B ... (L1 warms up and the machine's load drifts: neither VMM always goes first).
#
# Environment (besides the harness's): BENCH_ITERATIONS (runs per VMM, default 2), BENCH_MIB
# (block and stream sizes, default 32), BENCH_SECONDS (random reads, default 5), BENCH_VMMS
# (default "ember qemu").
#
# Console lines, in order, for each run:
#   E2E-L1S bench begin VMM ITERATION
#   E2E-L2 bench METRIC ...          the guest's figures (seqwrite seqread randread net-h2g
#                                    vsock-h2g; net-g2h-send, vsock-g2h-send: the sender's view)
#   E2E-L1S bench VMM ITERATION METRIC ...   the host's figures (net-g2h, vsock-g2h: received)
#   E2E-L1S bench end VMM ITERATION status S
. "$L1_SCRIPTS/lib.sh"

iterations=${BENCH_ITERATIONS:-2}
mib=${BENCH_MIB:-32}
seconds=${BENCH_SECONDS:-5}
vmms=${BENCH_VMMS:-ember qemu}
bench="$E2E_TOOLS/e2e-bench"
tap=tap0
mac=06:00:ac:10:00:02
image="$SCRATCH/bench.img"
uds="$SCRATCH/v.sock"
image_mib=$((mib * 3))

"$IP" tuntap add dev "$tap" mode tap || l1_fail "ip tuntap add $tap"
"$IP" addr add 172.16.0.1/30 dev "$tap" || l1_fail "ip addr add"
"$IP" link set "$tap" up || l1_fail "ip link set $tap up"

qemu_vsock=1
if [ -z "${QEMU-}" ]; then
  l1_say "bench qemu unavailable: no QEMU in L1"
elif [ ! -c /dev/vhost-vsock ]; then
  qemu_vsock=0
  l1_say "bench qemu vsock unavailable: no /dev/vhost-vsock (module vhost_vsock) in L1"
fi

# host_side VMM VSOCK: the host ends of the streams, in the background, each writing its figure
# to <metric>.out: the listeners (the guest's senders retry until they are up) and our senders
# (they retry, at most once a second, until the guest listens). Sets $host_pids.
host_side() {
  "$bench" recv tcp-listen:7102 > net-g2h.out 2>&1 &
  host_pids="$!"
  "$bench" send tcp:172.16.0.2:7101 "$mib" > net-h2g-send.out 2>&1 &
  host_pids="$host_pids $!"
  if [ "$2" = 1 ]; then
    if [ "$1" = ember ]; then listen="unix-listen:${uds}_7202"; peer="hvsock:$uds:7201"
    else listen="vsock-listen:7202"; peer="vsock:3:7201"; fi
    "$bench" recv "$listen" > vsock-g2h.out 2>&1 &
    host_pids="$host_pids $!"
    "$bench" send "$peer" "$mib" > vsock-h2g-send.out 2>&1 &
    host_pids="$host_pids $!"
  fi
}

# host_results VMM ITERATION: stops the host ends still waiting and prints their figures.
host_results() {
  sleep 1
  for pid in $host_pids; do kill "$pid" 2> /dev/null; done
  wait
  for metric in net-g2h net-h2g-send vsock-g2h vsock-h2g-send; do
    [ -f "$metric.out" ] || continue
    case "$(cat "$metric.out")" in
      recv\ *|send\ *) l1_say "bench $1 $2 $metric $(cat "$metric.out")" ;;
      *) l1_say "bench $1 $2 $metric failed: $(tail -n 1 "$metric.out")" ;;
    esac
    rm -f "$metric.out"
  done
}

run_ember() {
  cat > vm.json <<JSON
{
  "boot-source": {"kernel_image_path": "$L2_VMLINUZ", "initrd_path": "$L2_INITRAMFS",
                  "boot_args": "$1"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "drives": [{"drive_id": "bench", "path_on_host": "$image", "is_root_device": false,
              "is_read_only": false}],
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$tap", "guest_mac": "$mac"}],
  "vsock": {"guest_cid": 3, "uds_path": "$uds"}
}
JSON
  timeout -s KILL 600 "$EMBER" --no-api --config-file vm.json --id bench
}

run_qemu() {
  if [ "$2" = 1 ]; then set -- "$1" -device vhost-vsock-device,guest-cid=3; else set -- "$1"; fi
  _append=$1
  shift
  timeout -s KILL 600 "$QEMU" -M microvm -accel kvm -m 256 -smp 1 -nodefaults -no-user-config \
    -nographic -serial stdio -no-reboot \
    -kernel "$L2_VMLINUZ" -initrd "$L2_INITRAMFS" -append "$_append" \
    -drive id=d0,file="$image",format=raw,if=none -device virtio-blk-device,drive=d0 \
    -netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
    -device virtio-net-device,netdev=n0,mac="$mac" "$@"
}

status_all=0
reversed=""
for vmm in $vmms; do reversed="$vmm $reversed"; done
i=1
while [ "$i" -le "$iterations" ]; do
  order=$vmms
  [ $((i % 2)) = 0 ] && order=$reversed
  for vmm in $order; do
    [ "$vmm" = qemu ] && [ -z "${QEMU-}" ] && continue
    vsock=1
    [ "$vmm" = qemu ] && vsock=$qemu_vsock
    rm -f "$image" "$uds" "${uds}"_*
    truncate -s "${image_mib}M" "$image" || l1_fail "image"
    args="$BOOT_ARGS e2e.bench_mib=$mib e2e.bench_seconds=$seconds e2e.bench_vsock=$vsock"
    l1_say "bench begin $vmm $i"
    host_side "$vmm" "$vsock"
    if [ "$vmm" = ember ]; then run_ember "$args"; else run_qemu "$args" "$vsock"; fi
    status=$?
    host_results "$vmm" "$i"
    l1_say "bench end $vmm $i status $status"
    [ "$status" = 0 ] || status_all=1
  done
  i=$((i + 1))
done
exit $status_all
