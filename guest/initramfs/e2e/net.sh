# virtio-net with the L1 side of tests/e2e/l1_scripts/net.sh: eth0 at 172.16.0.2/30, the host
# at 172.16.0.1. Pings the host, receives the host's payload on port 7001, sends 4 MiB of its
# own to the host's port 7002, reporting what it saw; the host side compares the checksums.
e2e_say "net eth0 mac $(cat /sys/class/net/eth0/address 2>/dev/null)"
if ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up; then
  e2e_say "net eth0 up"
else
  e2e_say "net eth0 setup-failed"
fi

if ping -c 3 -W 5 172.16.0.1 > /dev/null 2>&1; then
  e2e_say "net ping guest-to-host ok"
else
  e2e_say "net ping guest-to-host failed"
fi

# The console as stdin: busybox nc shuts its sending side when its stdin ends, which would end
# the host's transfer early.
timeout 120 nc -l -p 7001 < /dev/console > /tmp/from-host
e2e_say "net host-to-guest received $(wc -c < /tmp/from-host) bytes sha256 $(sha256sum < /tmp/from-host | cut -d' ' -f1)"

dd if=/dev/urandom of=/tmp/to-host bs=64k count=64 2> /dev/null
e2e_say "net guest-to-host payload $(wc -c < /tmp/to-host) bytes sha256 $(sha256sum < /tmp/to-host | cut -d' ' -f1)"
i=0
until timeout 60 nc 172.16.0.1 7002 < /tmp/to-host 2> /dev/null; do
  i=$((i + 1))
  [ "$i" -ge 10 ] && { e2e_say "net guest-to-host send-failed"; break; }
  sleep 1
done
e2e_say "net guest-to-host done"
e2e_poweroff
