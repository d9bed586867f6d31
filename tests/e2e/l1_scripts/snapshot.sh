# Snapshot and restore of a running Linux guest (issue: snapshot/restore): boot with net and
# vsock, let the guest write a file, pause, snapshot, kill ember; restore in a new ember on a
# new tap and vsock socket; the guest answers over vsock and TCP with the same file and a clock
# that moved forward. Then ten clones of the same snapshot at once, each answering over vsock.
. "$L1_SCRIPTS/lib.sh"

clones=10
# vsock_ask SOCKET MESSAGE: the guest's echo of MESSAGE through ember's vsock socket, retried
# for up to a minute (the guest's listener may not be up yet, or the restored guest may still
# be handling the transport reset).
vsock_ask() {
  _t=0
  until _r=$("$VSOCK_ECHO" uds-connect "$1" 5000 "$2" 2> /dev/null); do
    _t=$((_t + 1))
    [ $_t -ge 60 ] && { echo "no-answer"; return 1; }
    sleep 1
  done
  echo "$_r"
}
new_tap() {  # new_tap NAME [MAC]
  "$IP" tuntap add dev "$1" mode tap || l1_fail "cannot create $1"
  [ -n "${2-}" ] && "$IP" link set "$1" address "$2"
  "$IP" link set "$1" up
}

# The VM to snapshot.
new_tap tap0
"$IP" addr add 172.16.0.1/30 dev tap0
tap_mac=$(cat /sys/class/net/tap0/address)
"$EMBER" --api-sock "$SCRATCH/a.sock" --id snap-a > "$SCRATCH/a.out" 2> "$SCRATCH/a.err" &
a=$!
wait_for_socket "$SCRATCH/a.sock" 60 $a || l1_fail "no API socket"
api "$SCRATCH/a.sock" PUT /boot-source "$(boot_source_json "$L2_KERNEL")" || l1_fail "boot-source"
api "$SCRATCH/a.sock" PUT /machine-config "$(machine_json)" || l1_fail "machine-config"
api "$SCRATCH/a.sock" PUT /network-interfaces/eth0 \
  '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}' || l1_fail "net"
api "$SCRATCH/a.sock" PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$SCRATCH/a.vsock\"}" || l1_fail "vsock"
api "$SCRATCH/a.sock" PUT /actions '{"action_type": "InstanceStart"}' || l1_fail "InstanceStart"
w=0
until grep -q "E2E-L2 snapshot ready" "$SCRATCH/a.out"; do
  kill -0 $a 2> /dev/null || { cat "$SCRATCH/a.out"; l1_fail "ember ended before the guest was ready"; }
  [ $w -ge 1500 ] && { cat "$SCRATCH/a.out"; l1_fail "the guest was not ready in 150 s"; }
  sleep 0.1
  w=$((w + 1))
done
l1_say "vsock before snapshot $(vsock_ask "$SCRATCH/a.vsock" before-snapshot)"
# A connection held open across the snapshot: the guest's echo server (one connection at a time)
# is busy with it, so the restored guest answers anyone else only after the vsock transport
# reset has closed it there.
"$VSOCK_ECHO" uds-hold "$SCRATCH/a.vsock" 5000 held > "$SCRATCH/hold.out" 2>&1 &
w=0
until grep -q held "$SCRATCH/hold.out"; do
  [ $w -ge 300 ] && l1_fail "the held vsock connection was not answered"
  sleep 0.1
  w=$((w + 1))
done
l1_say "vsock connection held open"
sleep 2  # the guest's clock runs on a little before the snapshot
api "$SCRATCH/a.sock" PATCH /vm '{"state": "Paused"}' || l1_fail "pause"
api "$SCRATCH/a.sock" PUT /snapshot/create \
  "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$SCRATCH/vm.state\", \"mem_file_path\": \"$SCRATCH/vm.mem\"}" ||
  l1_fail "snapshot/create"
l1_say "snapshot files $(ls -s "$SCRATCH/vm.state" "$SCRATCH/vm.mem" | tr '\n' ' ')"
kill -9 $a
wait $a 2> /dev/null
cat "$SCRATCH/a.out"
sleep 1
l1_say "held connection after the snapshotted ember ended: $(tail -n 1 "$SCRATCH/hold.out")"
file_sum=$(sed -n 's/.*E2E-L2 snapshot file \([0-9a-f]*\).*/\1/p' "$SCRATCH/a.out")
set -- $(sed -n 's/.*E2E-L2 snapshot clock-before \([0-9]*\) \([0-9.]*\).*/\1 \2/p' "$SCRATCH/a.out")
date_before=${1-}
uptime_before=${2-}

# Restored in a new ember, on a new tap (with the old one's MAC: the guest's ARP cache still
# names it) and a new vsock socket.
"$IP" link del tap0
new_tap tap1 "$tap_mac"
"$IP" addr add 172.16.0.1/30 dev tap1
"$EMBER" --api-sock "$SCRATCH/b.sock" --id snap-b > "$SCRATCH/b.out" 2> "$SCRATCH/b.err" &
b=$!
wait_for_socket "$SCRATCH/b.sock" 60 $b || l1_fail "no API socket for the restore"
load_json() {  # load_json TAP VSOCK
  printf '{"snapshot_path": "%s", "mem_backend": {"backend_type": "File", "backend_path": "%s"}, "resume_vm": true, "network_overrides": [{"iface_id": "eth0", "host_dev_name": "%s"}], "vsock_override": {"uds_path": "%s"}}' \
    "$SCRATCH/vm.state" "$SCRATCH/vm.mem" "$1" "$2"
}
api "$SCRATCH/b.sock" PUT /snapshot/load "$(load_json tap1 "$SCRATCH/b.vsock")" || { cat "$SCRATCH/b.err"; l1_fail "snapshot/load"; }
l1_say "vsock after restore $(vsock_ask "$SCRATCH/b.vsock" after-restore)"
state=$(timeout 60 nc 172.16.0.2 7000 < /dev/null)
[ -n "$state" ] || state=$(timeout 60 nc 172.16.0.2 7000 < /dev/null)
l1_say "net after restore: $state"
set -- $state
if [ "${1-}" = state ] && [ "${2-}" = "$file_sum" ]; then l1_say "file kept across the restore"; fi
# The guest's clock went on, never back: its wall clock did not go back and its uptime (in
# hundredths of a second; an L2 guest's time runs slowly under L1's emulation) grew.
if [ -n "${4-}" ] && [ "$3" -ge "$date_before" ] &&
   [ "$(echo "$4" | tr -d .)" -gt "$(echo "$uptime_before" | tr -d .)" ]; then
  l1_say "clock moved forward: date $date_before -> $3, uptime $uptime_before -> $4"
fi
kill -9 $b
wait $b 2> /dev/null
cat "$SCRATCH/b.out"

# Clones: one snapshot, many VMs at once, each with its own tap and vsock socket.
i=1
while [ $i -le $clones ]; do
  new_tap "tapc$i"
  "$EMBER" --api-sock "$SCRATCH/c$i.sock" --id "clone$i" > "$SCRATCH/c$i.out" 2> "$SCRATCH/c$i.err" &
  eval "clone_$i=$!"
  i=$((i + 1))
done
i=1
while [ $i -le $clones ]; do
  wait_for_socket "$SCRATCH/c$i.sock" 60 || l1_fail "no API socket for clone $i"
  api "$SCRATCH/c$i.sock" PUT /snapshot/load "$(load_json "tapc$i" "$SCRATCH/c$i.vsock")" || l1_fail "clone $i"
  i=$((i + 1))
done
answered=0
i=1
while [ $i -le $clones ]; do
  reply=$(vsock_ask "$SCRATCH/c$i.vsock" "clone-$i")
  l1_say "clone $i: $reply"
  [ "$reply" = "clone-$i" ] && answered=$((answered + 1))
  i=$((i + 1))
done
l1_say "clones answered $answered of $clones"
exit 0
