# Snapshot and restore, driven from L1 (tests/e2e/l1_scripts/snapshot.sh). This side writes a
# file, serves vsock (echo on port 5000) and TCP (port 7000: the file's checksum, the guest's
# wall clock and uptime), says it is ready and idles; L1 pauses, snapshots, kills ember and restores the VM
# elsewhere, then asks both services again.
if ip link show eth0 > /dev/null 2>&1; then
  ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up
fi
head -c 4096 /dev/urandom > /snapfile
e2e_say "snapshot file $(sha256sum /snapfile | cut -d' ' -f1)"
e2e_say "snapshot clock-before $(date +%s) $(cut -d' ' -f1 /proc/uptime)"
vsock-echo listen 5000 &
( while true; do
    echo "state $(sha256sum /snapfile | cut -d' ' -f1) $(date +%s) $(cut -d' ' -f1 /proc/uptime)" | nc -l -p 7000
  done ) &
e2e_say "snapshot ready"
while true; do sleep 1; done
