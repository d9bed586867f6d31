# Data drives from tests/e2e/l1_scripts/drives.sh, found by size: fast (8 MiB, 16384 sectors),
# slow (9 MiB, rate limited to 512 KiB/s), ro (10 MiB, read-only). Times 5 MiB of O_DIRECT reads
# from fast and slow, judges that the limited one is much slower, writes and reads back the
# fast one, and tries to write the read-only one.
disk_of_size() {  # SECTORS: the vdX whose size is SECTORS
  for d in /sys/block/vd*; do
    [ "$(cat "$d/size")" = "$1" ] && { basename "$d"; return; }
  done
}
fast=$(disk_of_size 16384)
slow=$(disk_of_size 18432)
ro=$(disk_of_size 20480)
e2e_say "drives fast=${fast:-none} slow=${slow:-none} ro=${ro:-none}"

uptime_s() { cut -d' ' -f1 /proc/uptime; }
timed_read() {  # DISK: seconds to read 5 MiB with O_DIRECT (64 KiB requests), or "failed"
  t0=$(uptime_s)
  dd if="/dev/$1" of=/dev/null bs=64k count=80 iflag=direct 2> /dev/null || { echo failed; return; }
  t1=$(uptime_s)
  awk "BEGIN { printf \"%.2f\", $t1 - $t0 }"
}
fast_s=$(timed_read "$fast")
slow_s=$(timed_read "$slow")
e2e_say "drives read 5 MiB direct: unlimited $fast_s s, limited $slow_s s"
# 5 MiB at 512 KiB/s with a full 512 KiB bucket at the start takes at least 9 s (unlimited: 0.6 s
# nested on a quiet machine, 1.6 s on a loaded one). The margins are wide: this checks that the
# limiter works, not how precisely; load slows the unlimited read, never the limited one below
# its 9 s.
verdict=$(awk -v f="$fast_s" -v s="$slow_s" \
  'BEGIN { print (f != "failed" && s != "failed" && s >= 8 && s >= 3 * f) ? "ok" : "not-slower" }')
e2e_say "drives rate-limit $verdict"

if dd if=/dev/urandom of=/tmp/block bs=4k count=1 2> /dev/null &&
   dd if=/tmp/block of="/dev/$fast" bs=4k seek=7 oflag=direct conv=notrunc 2> /dev/null &&
   dd if="/dev/$fast" of=/tmp/back bs=4k skip=7 count=1 iflag=direct 2> /dev/null &&
   cmp -s /tmp/block /tmp/back; then
  e2e_say "drives rw write-read ok"
  sync
  e2e_say "drives rw block-7 sha256 $(sha256sum < /tmp/block | cut -d' ' -f1)"
else
  e2e_say "drives rw write-read failed"
fi

e2e_say "drives ro flag $(cat "/sys/block/$ro/ro" 2>/dev/null)"
if dd if=/dev/zero of="/dev/$ro" bs=4k count=1 oflag=direct conv=notrunc 2> /dev/null; then
  e2e_say "drives ro write accepted"
else
  e2e_say "drives ro write refused"
fi
e2e_poweroff
