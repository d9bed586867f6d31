# virtio-net end to end: a tap in L1 (172.16.0.1/30), ember's interface on it, the guest's eth0
# at 172.16.0.2/30 (tests/fixtures/guest/initramfs/e2e/net.sh). Data both ways, checked by SHA-256 here:
#   host -> guest: we send 4 MiB of random bytes to the guest's `nc -l` on port 7001; the guest
#                  prints the checksum of what it received
#   guest -> host: the guest sends 4 MiB of its own random bytes to our `nc -l` on port 7002
#                  and prints their checksum
# and ping both ways (the guest pings us; we ping the guest once it answers).
. "$L1_SCRIPTS/lib.sh"

tap=tap0
host_ip=172.16.0.1
guest_ip=172.16.0.2
mac=06:00:ac:10:00:02

"$IP" tuntap add dev "$tap" mode tap || l1_fail "ip tuntap add $tap"
"$IP" addr add "$host_ip/30" dev "$tap" || l1_fail "ip addr add"
"$IP" link set "$tap" up || l1_fail "ip link set $tap up"

dd if=/dev/urandom of=to-guest bs=64k count=64 2>/dev/null || l1_fail "payload"
to_guest_sum=$(sha256sum < to-guest | cut -d' ' -f1)
l1_say "net host-to-guest payload sha256 $to_guest_sum"

# Our listener for the guest's bytes. Its stdin is a FIFO we hold open without writing: busybox
# nc shuts its sending side when its stdin ends, and the guest's nc would then stop early.
mkfifo hold
exec 3<> hold
nc -l -p 7002 <&3 > from-guest &
listener=$!

# Our side of the traffic, while the guest runs.
(
  i=0
  until ping -c 1 -W 1 "$guest_ip" > /dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge 150 ] && { l1_say "net ping host-to-guest no-answer"; exit 1; }
  done
  if ping -c 3 -W 2 "$guest_ip" > /dev/null 2>&1; then
    l1_say "net ping host-to-guest ok"
  else
    l1_say "net ping host-to-guest failed"
  fi
  i=0
  until nc "$guest_ip" 7001 < to-guest 2> /dev/null; do
    i=$((i + 1))
    [ "$i" -ge 120 ] && { l1_say "net host-to-guest send-failed"; exit 1; }
    sleep 0.5
  done
  l1_say "net host-to-guest sent"
) &

cat > vm.json <<JSON
{
  "boot-source": {"kernel_image_path": "$L2_KERNEL", "initrd_path": "$L2_INITRAMFS",
                  "boot_args": "$BOOT_ARGS"},
  "machine-config": {"vcpu_count": $E2E_VCPUS, "mem_size_mib": $E2E_MEM_MIB},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$tap", "guest_mac": "$mac"}]
}
JSON
set -o pipefail
"$EMBER" --no-api --config-file vm.json --id "$E2E_NAME" | tee console
status=$?
set +o pipefail
l1_say "ember exited with status $status"

# The guest's lines, without the serial console's carriage returns.
guest_line() { tr -d '\r' < console | grep "E2E-L2 $1" | tail -n 1; }

received=$(guest_line "net host-to-guest received")
if [ "${received##* sha256 }" = "$to_guest_sum" ]; then
  l1_say "net host-to-guest sha256 match"
else
  l1_say "net host-to-guest sha256 mismatch: sent $to_guest_sum, guest says '$received'"
fi

# The guest has sent everything by now; our nc ends when its connection does.
i=0
while kill -0 "$listener" 2> /dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sent=$(guest_line "net guest-to-host payload")
from_guest_sum=$(sha256sum < from-guest | cut -d' ' -f1)
if [ -n "$sent" ] && [ "${sent##* sha256 }" = "$from_guest_sum" ]; then
  l1_say "net guest-to-host sha256 match ($(wc -c < from-guest) bytes)"
else
  l1_say "net guest-to-host sha256 mismatch: received $(wc -c < from-guest) bytes" \
    "sha256 $from_guest_sum, guest says '$sent'"
fi
exit $status
