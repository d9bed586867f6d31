# The L1 side of benchmarks/mmds_bench.py: ember from a config file with MMDS V2 on eth0 (tap0)
# and `--metadata` holding latest/meta-data/ami-id = "ami-e2e"; on tap0 (172.16.0.1/30) a
# busybox httpd serves the same body at the same path on port 8080. The guest
# (tests/fixtures/guest/initramfs/e2e/mmds_bench.sh) times its GETs against both and prints
# the figures; ember's exit status is the scenario's.
. "$L1_SCRIPTS/lib.sh"

tap=tap0
"$IP" tuntap add dev "$tap" mode tap || l1_fail "ip tuntap add $tap"
"$IP" addr add 172.16.0.1/30 dev "$tap" || l1_fail "ip addr add"
"$IP" link set "$tap" up || l1_fail "ip link set $tap up"
mkdir -p "$SCRATCH/www/latest/meta-data"
printf 'ami-e2e' > "$SCRATCH/www/latest/meta-data/ami-id"
httpd -f -p 172.16.0.1:8080 -h "$SCRATCH/www" &

cat > "$SCRATCH/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$L2_KERNEL", "initrd_path": "$L2_INITRAMFS",
                  "boot_args": "$BOOT_ARGS"},
  "machine-config": {"vcpu_count": $E2E_VCPUS, "mem_size_mib": $E2E_MEM_MIB},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$tap", "guest_mac": "06:00:ac:10:00:02"}],
  "mmds-config": {"version": "V2", "network_interfaces": ["eth0"]}
}
JSON
printf '{"latest": {"meta-data": {"ami-id": "ami-e2e"}}}' > "$SCRATCH/meta.json"
set -o pipefail
"$EMBER" --no-api --config-file "$SCRATCH/vm.json" --metadata "$SCRATCH/meta.json" --id mmds-bench |
  tee "$SCRATCH/console"
status=$?
set +o pipefail
l1_say "mmdsbench ember exited with status $status"
exit $status
