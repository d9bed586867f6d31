# Runs from the ext4 root on a virtio-block disk (ember.root=/dev/vda switched into it): checks
# the root is that disk, writes a file through it, drops the caches and reads it back.
e2e_say "block root $(awk '$2 == "/" {print $1; exit}' /proc/mounts)"
e2e_say "block size $(cat /sys/block/vda/size 2>/dev/null) sectors"
if echo "written through virtio-blk" > /e2e-block-check && sync && \
   echo 3 > /proc/sys/vm/drop_caches && grep -q "written through virtio-blk" /e2e-block-check; then
  e2e_say "block write-read ok"
else
  e2e_say "block write-read failed"
fi
e2e_poweroff
