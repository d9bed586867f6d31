# virtio-block drive options end to end, with three data drives told apart by their sizes
# (tests/fixtures/guest/initramfs/e2e/drives.sh):
#   fast  8 MiB, no limits
#   slow  9 MiB, rate_limiter bandwidth 512 KiB/s (bucket size 512 KiB, refill_time 1000 ms)
#   ro   10 MiB of random bytes, is_read_only
# The guest times direct reads of the fast and slow drives and tries to write the read-only
# one; here we check that the read-only image is unchanged afterwards and that the block the guest
# wrote to the fast one is in its image.
. "$L1_SCRIPTS/lib.sh"

truncate -s 8M fast.img && truncate -s 9M slow.img || l1_fail "images"
dd if=/dev/urandom of=ro.img bs=1M count=10 2> /dev/null || l1_fail "ro image"
ro_sum=$(sha256sum < ro.img | cut -d' ' -f1)

cat > vm.json <<JSON
{
  "boot-source": {"kernel_image_path": "$L2_KERNEL", "initrd_path": "$L2_INITRAMFS",
                  "boot_args": "$BOOT_ARGS"},
  "machine-config": {"vcpu_count": $E2E_VCPUS, "mem_size_mib": $E2E_MEM_MIB},
  "drives": [
    {"drive_id": "fast", "path_on_host": "$SCRATCH/fast.img", "is_root_device": false,
     "is_read_only": false},
    {"drive_id": "slow", "path_on_host": "$SCRATCH/slow.img", "is_root_device": false,
     "is_read_only": false,
     "rate_limiter": {"bandwidth": {"size": 524288, "refill_time": 1000}}},
    {"drive_id": "ro", "path_on_host": "$SCRATCH/ro.img", "is_root_device": false,
     "is_read_only": true}
  ]
}
JSON
"$EMBER" --no-api --config-file vm.json --id "$E2E_NAME" > console
status=$?
cat console
l1_say "ember exited with status $status"
# What the guest wrote to the fast drive's block 7 is in the image once the VM has ended.
guest_sum=$(sed -n 's/.*E2E-L2 drives rw block-7 sha256 \([0-9a-f]*\).*/\1/p' console)
host_sum=$(dd if=fast.img bs=4k skip=7 count=1 2> /dev/null | sha256sum | cut -d' ' -f1)
if [ -n "$guest_sum" ] && [ "$guest_sum" = "$host_sum" ]; then
  l1_say "drives rw block on the host matches the guest's sha256"
fi
if [ "$(sha256sum < ro.img | cut -d' ' -f1)" = "$ro_sum" ]; then
  l1_say "drives ro image unchanged"
else
  l1_say "drives ro image changed"
fi
exit $status
