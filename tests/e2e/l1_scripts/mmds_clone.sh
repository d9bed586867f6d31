# MMDS across snapshot clones (issue 14), the L1 side; the guest side is
# tests/fixtures/guest/initramfs/e2e/mmds_clone.sh, which prints each identity it reads from
# the MMDS (V2, eth0) while polling it every ~0.5 s.
#   1. boot with MMDS V2 on eth0 and the identity "identity-a" in the store; the guest reads it;
#   2. pause, snapshot, kill -9;
#   3. restore TWO clones at once, each in its own ember on its own tap (network_overrides),
#      with resume_vm false; each gets its own store (PUT /mmds: clone-1, clone-2) BEFORE
#      PATCH /vm Resumed, as Firecracker's docs say a clone must be reseeded (the store is not
#      in the snapshot, mmds-user-guide.md "Snapshotting considerations");
#   4. each clone's console must show its own identity and never the other's (nor the old one,
#      which would mean a store that came through the snapshot).
. "$L1_SCRIPTS/lib.sh"

new_tap() {  # new_tap NAME
  "$IP" tuntap add dev "$1" mode tap || l1_fail "cannot create $1"
  "$IP" link set "$1" up
}
# wait_console FILE REGEX SECONDS [PID]: until FILE has a line matching REGEX; status 1 after
# SECONDS or when PID has ended.
wait_console() {
  _w=0
  until tr -d '\r' < "$1" | grep -q "$2"; do
    [ $_w -ge $(($3 * 10)) ] && return 1
    [ -n "${4-}" ] && ! kill -0 "$4" 2> /dev/null && return 1
    sleep 0.1
    _w=$((_w + 1))
  done
}
identity_json() { printf '{"latest": {"meta-data": {"instance-id": "%s"}}}' "$1"; }

new_tap tap0
"$EMBER" --api-sock "$SCRATCH/a.sock" --id mmds-a > "$SCRATCH/a.out" 2> "$SCRATCH/a.err" &
a=$!
wait_for_socket "$SCRATCH/a.sock" 60 $a || l1_fail "no API socket"
api "$SCRATCH/a.sock" PUT /boot-source "$(boot_source_json "$L2_KERNEL")" || l1_fail "boot-source"
api "$SCRATCH/a.sock" PUT /machine-config "$(machine_json)" || l1_fail "machine-config"
api "$SCRATCH/a.sock" PUT /network-interfaces/eth0 \
  '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}' || l1_fail "net"
api "$SCRATCH/a.sock" PUT /mmds/config '{"version": "V2", "network_interfaces": ["eth0"]}' ||
  l1_fail "mmds/config"
api "$SCRATCH/a.sock" PUT /mmds "$(identity_json identity-a)" || l1_fail "PUT /mmds"
api "$SCRATCH/a.sock" PUT /actions '{"action_type": "InstanceStart"}' || l1_fail "InstanceStart"
if ! wait_console "$SCRATCH/a.out" "E2E-L2 mmdsclone polling" 240 $a; then
  cat "$SCRATCH/a.out"
  l1_fail "the guest did not read its identity"
fi
l1_say "mmds-clone original $(tr -d '\r' < "$SCRATCH/a.out" | grep -o 'mmdsclone identity .*' | head -n 1)"
api "$SCRATCH/a.sock" PATCH /vm '{"state": "Paused"}' || l1_fail "pause"
api "$SCRATCH/a.sock" PUT /snapshot/create \
  "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$SCRATCH/vm.state\", \"mem_file_path\": \"$SCRATCH/vm.mem\"}" ||
  l1_fail "snapshot/create"
kill -9 $a
wait $a 2> /dev/null
cat "$SCRATCH/a.out"
"$IP" link del tap0

load_json() {  # load_json TAP
  printf '{"snapshot_path": "%s", "mem_backend": {"backend_type": "File", "backend_path": "%s"}, "resume_vm": false, "network_overrides": [{"iface_id": "eth0", "host_dev_name": "%s"}]}' \
    "$SCRATCH/vm.state" "$SCRATCH/vm.mem" "$1"
}
for i in 1 2; do
  new_tap "tapc$i"
  "$EMBER" --api-sock "$SCRATCH/c$i.sock" --id "mmds-clone$i" > "$SCRATCH/c$i.out" 2> "$SCRATCH/c$i.err" &
  eval "clone_$i=$!"
done
for i in 1 2; do
  wait_for_socket "$SCRATCH/c$i.sock" 60 || l1_fail "no API socket for clone $i"
  api "$SCRATCH/c$i.sock" PUT /snapshot/load "$(load_json "tapc$i")" || { cat "$SCRATCH/c$i.err"; l1_fail "load clone $i"; }
  # The store of the clone before it runs; GET /mmds shows it is this one's.
  api "$SCRATCH/c$i.sock" PUT /mmds "$(identity_json "clone-$i")" || l1_fail "PUT /mmds clone $i"
  api "$SCRATCH/c$i.sock" GET /mmds || l1_fail "GET /mmds clone $i"
  l1_say "mmds-clone $i store $(tr -d ' \n' < "$SCRATCH/api.body")"
done
for i in 1 2; do
  api "$SCRATCH/c$i.sock" PATCH /vm '{"state": "Resumed"}' || l1_fail "resume clone $i"
done

for i in 1 2; do
  eval "pid=\$clone_$i"
  if wait_console "$SCRATCH/c$i.out" "E2E-L2 mmdsclone identity clone-$i\$" 120 "$pid"; then
    l1_say "mmds-clone $i read its own identity clone-$i"
  else
    l1_say "mmds-clone $i never read clone-$i"
  fi
done
sleep 3  # a few more polls: a wrong identity would show now
for i in 1 2; do
  other=$((3 - i))
  seen=$(tr -d '\r' < "$SCRATCH/c$i.out" | grep -o 'mmdsclone identity .*' | sed 's/mmdsclone identity //' | tr '\n' ' ')
  l1_say "mmds-clone $i identities seen after the restore: $seen"
  if tr -d '\r' < "$SCRATCH/c$i.out" | grep -qE "mmdsclone identity (clone-$other|identity-a)$"; then
    l1_say "mmds-clone $i saw an identity not its own"
  else
    l1_say "mmds-clone $i saw only its own identity"
  fi
  grep -q "mmdsclone token refused" "$SCRATCH/c$i.out" && l1_say "mmds-clone $i: the old token was refused, a new one worked"
done
for i in 1 2; do
  eval "pid=\$clone_$i"
  kill -9 "$pid"
  wait "$pid" 2> /dev/null
  sed "s/^/[clone $i] /" "$SCRATCH/c$i.out"
done
exit 0
