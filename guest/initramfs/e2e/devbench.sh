# The guest side of benchmarks/device_bench.py (tests/e2e/l1_scripts/device_bench.sh starts the
# VMM and the host ends): block throughput and IOPS on /dev/vda, then TCP over eth0 and vsock
# streams in both directions, with e2e-bench (guest/tools/e2e_bench.c). One line per figure:
#   E2E-L2 bench <metric> <e2e-bench's line>
# Kernel command line: e2e.bench_mib=N (block and stream sizes, MiB), e2e.bench_seconds=S
# (random reads), e2e.bench_vsock=0|1 (whether the VMM has a vsock device).
mib=$(cmdline_value e2e.bench_mib)
seconds=$(cmdline_value e2e.bench_seconds)
with_vsock=$(cmdline_value e2e.bench_vsock)
: "${mib:=32}" "${seconds:=5}" "${with_vsock:=1}"

measure() {  # METRIC COMMAND...: runs e2e-bench, prints its figure (or that it failed)
  metric=$1
  shift
  if out=$(timeout 300 e2e-bench "$@" 2>&1); then
    e2e_say "bench $metric $out"
  else
    e2e_say "bench $metric failed: $(echo "$out" | tail -n 1)"
  fi
}

measure seqwrite seqwrite /dev/vda "$mib"
measure seqread seqread /dev/vda "$mib"
measure randread randread /dev/vda "$seconds"

if ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up; then
  measure net-h2g recv tcp-listen:7101
  measure net-g2h-send send tcp:172.16.0.1:7102 "$mib"
else
  e2e_say "bench net failed: eth0 setup"
fi

if [ "$with_vsock" = 1 ]; then
  measure vsock-h2g recv vsock-listen:7201
  measure vsock-g2h-send send vsock:2:7202 "$mib"
fi
e2e_poweroff
