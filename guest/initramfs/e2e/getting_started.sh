# Firecracker's getting-started flow, driven from L1 with curl (tests/e2e/l1_scripts/
# getting_started.sh): this side reports the devices it was given, then ticks on the console
# until Ctrl-Alt-Del arrives. kernel.ctrl-alt-del=1: the kernel restarts at once on it (with
# reboot=k through the i8042 reset line, which ends ember with status 0).
echo 1 > /proc/sys/kernel/ctrl-alt-del
[ -b /dev/vda ] && e2e_say "gs drive vda $(cat /sys/block/vda/size) sectors"
[ -e /sys/class/net/eth0 ] && e2e_say "gs net eth0 $(cat /sys/class/net/eth0/address)"
i=0
while true; do
  e2e_say "gs tick $i"
  i=$((i + 1))
  sleep 1
done
