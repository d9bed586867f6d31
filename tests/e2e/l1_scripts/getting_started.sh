# ember driven exactly as Firecracker's getting-started guide drives Firecracker: plain curl on
# the API socket for the logger, boot source, root drive, network interface and InstanceStart;
# then pause (the guest's console stops), resume (it goes on) and SendCtrlAltDel (the guest
# restarts, which ends ember with status 0). Guest side: tests/fixtures/guest/initramfs/e2e/getting_started.sh.
. "$L1_SCRIPTS/lib.sh"

sock="$SCRATCH/firecracker.socket"
cp "$L2_ROOTFS" "$SCRATCH/rootfs.ext4"
"$IP" tuntap add dev tap0 mode tap || l1_fail "ip tuntap add tap0"
"$IP" link set tap0 up

"$EMBER" --api-sock "$sock" > "$SCRATCH/console" 2> "$SCRATCH/ember.err" &
ember=$!
wait_for_socket "$sock" 60 $ember || l1_fail "no API socket"
gs() {  # gs METHOD PATH BODY: the guide's curl call, as it writes it
  _code=$("$CURL" -s -o "$SCRATCH/body" -w '%{http_code}' -X "$1" --unix-socket "$sock" \
    "http://localhost$2" -H 'Accept: application/json' -H 'Content-Type: application/json' -d "$3")
  l1_say "curl $1 $2 $_code $(cat "$SCRATCH/body")"
  case "$_code" in 2??) return 0 ;; *) return 1 ;; esac
}
gs PUT /logger "{\"log_path\": \"$SCRATCH/ember.log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}" || l1_fail logger
gs PUT /boot-source "$(boot_source_json "$L2_KERNEL")" || l1_fail boot-source
gs PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$SCRATCH/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}" || l1_fail drives
gs PUT /network-interfaces/net1 '{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}' || l1_fail network
gs PUT /machine-config "$(machine_json)" || l1_fail machine-config
gs PUT /actions '{"action_type": "InstanceStart"}' || l1_fail InstanceStart

ticks() { grep -c "E2E-L2 gs tick" "$SCRATCH/console"; }
# wait_ticks N SECONDS: until the console shows at least N ticks.
wait_ticks() {
  _w=0
  while [ "$(ticks)" -lt "$1" ]; do
    kill -0 $ember 2> /dev/null || return 1
    [ $_w -ge $(($2 * 10)) ] && return 1
    sleep 0.1
    _w=$((_w + 1))
  done
}
wait_ticks 1 300 || { cat "$SCRATCH/console"; l1_fail "the guest never ticked"; }
start=$(date +%s)
wait_ticks 3 120 || l1_fail "the guest stopped ticking"
# Paused for at least twice the time two ticks took: a running guest would have ticked.
quiet=$((2 * ($(date +%s) - start) + 3))
gs PATCH /vm '{"state": "Paused"}' || l1_fail pause
before=$(ticks)
sleep "$quiet"
after=$(ticks)
[ "$after" -eq "$before" ] && l1_say "paused: no tick in ${quiet} s"
gs PATCH /vm '{"state": "Resumed"}' || l1_fail resume
wait_ticks $((after + 2)) 120 && l1_say "resumed: ticking again"
gs PUT /actions '{"action_type": "SendCtrlAltDel"}' || l1_fail SendCtrlAltDel
w=0
while kill -0 $ember 2> /dev/null; do
  [ $w -ge 1200 ] && l1_fail "ember still runs 120 s after SendCtrlAltDel"
  sleep 0.1
  w=$((w + 1))
done
wait $ember
status=$?
cat "$SCRATCH/console"
grep -q "guest reset through the i8042" "$SCRATCH/ember.log" && l1_say "the guest restarted on Ctrl-Alt-Del"
grep -c "API request" "$SCRATCH/ember.log" | sed 's/^/E2E-L1S logger lines with API requests: /'
l1_say "ember exited with status $status"
exit $status
