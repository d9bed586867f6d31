# MMDS as flintlock uses it (infrastructure/microvm/firecracker in liquidmetal-dev/flintlock):
# the binary under the name `firecracker`, `--id <uid> --boot-timer --no-api --config-file
# <config> --metadata <metadata.json>` (create.go), the config in its shape ("mmds-config":
# {"version": "V1", "network_interfaces": [...]} for the interfaces that allow metadata
# requests, config.go/types.go), and metadata.json as its state.go writes it: {"latest":
# {key: value}} with every value a string (the base64 of the spec decoded), indented by one
# space (Go's json.MarshalIndent). Its kernel command line points cloud-init's nocloud-net at
# http://169.254.169.254/latest/; the guest (tests/fixtures/guest/initramfs/e2e/mmds_flintlock.sh)
# reads what cloud-init would, with plain V1 GETs, and powers off. L1 compares the bytes.
. "$L1_SCRIPTS/lib.sh"

tap=tap0
uid=2f0c5d8e-6a41-4b7e-9c3d-7e1f0a9b2c54
"$IP" tuntap add dev "$tap" mode tap || l1_fail "ip tuntap add $tap"
"$IP" link set "$tap" up || l1_fail "ip link set $tap up"

ln -s "$EMBER" "$SCRATCH/firecracker" || l1_fail "symlink"
cat > "$SCRATCH/firecracker.cfg" <<JSON
{
 "drives": [],
 "boot-source": {
  "kernel_image_path": "$L2_KERNEL",
  "initrd_path": "$L2_INITRAMFS",
  "boot_args": "$BOOT_ARGS ds=nocloud-net;s=http://169.254.169.254/latest/"
 },
 "logger": {
  "log_path": "$SCRATCH/firecracker.log",
  "level": "Debug",
  "show_level": true,
  "show_log_origin": true
 },
 "machine-config": {
  "vcpu_count": $E2E_VCPUS,
  "mem_size_mib": $E2E_MEM_MIB,
  "smt": true,
  "track_dirty_pages": false
 },
 "metrics": {
  "metrics_path": "$SCRATCH/firecracker.metrics"
 },
 "mmds-config": {
  "version": "V1",
  "network_interfaces": [
   "eth0"
  ]
 },
 "network-interfaces": [
  {
   "iface_id": "eth0",
   "host_dev_name": "$tap",
   "guest_mac": "06:00:ac:10:00:02"
  }
 ]
}
JSON
# flintlock's test/e2e spec (test/e2e/utils/utils.go), decoded as state.go decodes it.
meta_data='instance_id: ns1/mvm0
local_hostname: mvm0
platform: liquid_metal
'
user_data='#cloud-config
hostname: mvm0
fqdn: mvm0.fruitcase
disable_root: false
package_update: false
final_message: The reignited booted system is good to go after $UPTIME seconds
runcmd:
    - dhclient -r
    - dhclient
'
# json_string TEXT: TEXT as the inside of a JSON string (backslash, quote and newline escaped).
json_string() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk 'BEGIN{ORS=""} {if (NR > 1) print "\\n"; print}'; }
# nl_tail TEXT: the escaped final newline $(...) would strip.
nl_tail() { case "$1" in *'
') printf '\\n' ;; esac; }
cat > "$SCRATCH/metadata.json" <<JSON
{
 "latest": {
  "meta-data": "$(json_string "$meta_data")$(nl_tail "$meta_data")",
  "user-data": "$(json_string "$user_data")$(nl_tail "$user_data")"
 }
}
JSON
: > "$SCRATCH/firecracker.log"
: > "$SCRATCH/firecracker.metrics"
l1_say "mmdsfl expects meta-data sha256 $(printf '%s' "$meta_data" | sha256sum | cut -d' ' -f1)"
l1_say "mmdsfl expects user-data sha256 $(printf '%s' "$user_data" | sha256sum | cut -d' ' -f1)"

: > "$SCRATCH/console"
tail -f "$SCRATCH/console" &
tailer=$!
"$SCRATCH/firecracker" --id "$uid" --boot-timer --no-api --config-file "$SCRATCH/firecracker.cfg" \
  --metadata "$SCRATCH/metadata.json" >> "$SCRATCH/console" 2> "$SCRATCH/stderr" < /dev/null &
vmm=$!
wait $vmm
status=$?
sleep 1.5  # tail -f reads once a second
kill $tailer 2> /dev/null
l1_say "mmdsfl firecracker exited with status $status"
[ -s "$SCRATCH/stderr" ] && l1_say "mmdsfl stderr: $(tail -n 1 "$SCRATCH/stderr")"
guest_sum() { tr -d '\r' < "$SCRATCH/console" | sed -n "s/.*E2E-L2 mmdsfl $1 sha256 \([0-9a-f]*\).*/\1/p" | tail -n 1; }
[ "$(guest_sum meta-data)" = "$(printf '%s' "$meta_data" | sha256sum | cut -d' ' -f1)" ] &&
  l1_say "mmdsfl meta-data bytes match"
[ "$(guest_sum user-data)" = "$(printf '%s' "$user_data" | sha256sum | cut -d' ' -f1)" ] &&
  l1_say "mmdsfl user-data bytes match"
exit 0
