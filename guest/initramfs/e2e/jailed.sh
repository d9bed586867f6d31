# Under the jailer with seccomp on (tests/e2e/l1_scripts/jailed.sh): block, net and vsock once
# each, then power off.
e2e_say "jailed vda $(cat /sys/block/vda/size 2>/dev/null) sectors"
mkdir -p /mnt
if mount -t ext4 /dev/vda /mnt && [ -f /mnt/etc/ember-rootfs ] && echo jailed > /mnt/jailed && sync; then
  e2e_say "jailed block mount-write ok"
  umount /mnt
fi
if ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up && ping -c 3 -W 5 172.16.0.1 > /dev/null 2>&1; then
  e2e_say "jailed net ping ok"
fi
e2e_say "jailed vsock $(timeout 60 vsock-echo connect 2 6000 hello-from-jail 2>&1)"
e2e_poweroff
