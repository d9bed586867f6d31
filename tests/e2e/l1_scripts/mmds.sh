# MMDS V2 end to end (issue 14), the L1 side; the guest side is
# tests/fixtures/guest/initramfs/e2e/mmds.sh. ember through its API with curl, as Firecracker's
# docs/mmds/mmds-user-guide.md sets it up: a network interface eth0 on tap0 (fixed MAC),
# PUT /mmds/config V2 on eth0, PUT /mmds, a PATCH that changes a value, GET /mmds checked, then
# InstanceStart. tap0 is 172.16.0.1/30 with a peer on it (busybox httpd on port 8080, and L1
# answers ping) that the guest must still reach over the tap.
#
# That the MMDS's frames never reach the tap is checked by tap0's rx_packets (each frame ember
# writes to the tap is one received by L1's tap0): read at InstanceStart and again when the
# guest says its MMDS phase is done. The guest has IPv6 off on eth0 and has not talked to the
# peer yet, so every frame it sent by then was for the MMDS (ARP and TCP): none may have come
# through. Only then does L1 PATCH the "go" into the store that lets the guest reach the peer.
. "$L1_SCRIPTS/lib.sh"

tap=tap0
sock="$SCRATCH/api.sock"
"$IP" tuntap add dev "$tap" mode tap || l1_fail "ip tuntap add $tap"
"$IP" addr add 172.16.0.1/30 dev "$tap" || l1_fail "ip addr add"
"$IP" link set "$tap" up || l1_fail "ip link set $tap up"

mkdir -p "$SCRATCH/www"
printf 'peer-on-tap0' > "$SCRATCH/www/peer.txt"
httpd -f -p 172.16.0.1:8080 -h "$SCRATCH/www" &

# The guest console on our stdout as it comes (also when the harness stops us at the limit).
: > "$SCRATCH/console"
tail -f "$SCRATCH/console" &
tailer=$!
"$EMBER" --api-sock "$sock" --id "$E2E_NAME" >> "$SCRATCH/console" 2> "$SCRATCH/ember.err" &
vmm=$!
wait_for_socket "$sock" 60 $vmm || l1_fail "no API socket"
api "$sock" PUT /boot-source "$(boot_source_json "$L2_KERNEL")" || l1_fail "boot-source"
api "$sock" PUT /machine-config "$(machine_json)" || l1_fail "machine-config"
api "$sock" PUT /network-interfaces/eth0 \
  '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}' || l1_fail "net"
api "$sock" PUT /mmds/config '{"version": "V2", "network_interfaces": ["eth0"]}' || l1_fail "mmds/config"
api "$sock" PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-e2e", "instance-id": "i-1"}}}' ||
  l1_fail "PUT /mmds"
api "$sock" PATCH /mmds '{"latest": {"meta-data": {"ami-id": "ami-e2e-patched"}}}' || l1_fail "PATCH /mmds"
api "$sock" GET /mmds || l1_fail "GET /mmds"
store=$(tr -d ' \n' < "$SCRATCH/api.body")
l1_say "mmds GET /mmds $store"
[ "$store" = '{"latest":{"meta-data":{"ami-id":"ami-e2e-patched","instance-id":"i-1"}}}' ] &&
  l1_say "mmds store as PUT then PATCHed"

rx_before=$(cat /sys/class/net/$tap/statistics/rx_packets)
api "$sock" PUT /actions '{"action_type": "InstanceStart"}' || l1_fail "InstanceStart"

w=0
until grep -q "E2E-L2 mmds phase done" "$SCRATCH/console"; do
  kill -0 $vmm 2> /dev/null || break
  [ $w -ge 2400 ] && break
  sleep 0.1
  w=$((w + 1))
done
rx_after=$(cat /sys/class/net/$tap/statistics/rx_packets)
l1_say "mmds tap0 rx_packets $rx_before -> $rx_after over the guest's MMDS phase"
if ! grep -q "E2E-L2 mmds phase done" "$SCRATCH/console"; then
  l1_say "mmds the guest did not finish its MMDS phase"
elif [ "$rx_after" = "$rx_before" ]; then
  l1_say "mmds no frame reached tap0 during the MMDS phase"
else
  l1_say "mmds frames reached tap0 during the MMDS phase: $((rx_after - rx_before))"
fi
api "$sock" PATCH /mmds '{"latest": {"e2e": {"go": "peer"}}}' || l1_say "mmds PATCH go failed"

wait $vmm
status=$?
sleep 1.5  # tail -f reads once a second
kill $tailer 2> /dev/null
l1_say "mmds ember exited with status $status"
# The counter does see the guest's frames: the peer traffic after the "go" moved it.
rx_end=$(cat /sys/class/net/$tap/statistics/rx_packets)
[ "$rx_end" -gt "$rx_after" ] && l1_say "mmds tap0 rx_packets counted the peer traffic: $rx_after -> $rx_end"
[ "$status" = 0 ] || l1_say "mmds ember log: $(tail -n 3 "$SCRATCH/ember.err" | tr '\n' ' ')"
exit $status
