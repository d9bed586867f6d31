# Debian's kernel on ember started by ember-jailer, seccomp on (ember's default): a chroot
# holding only what the VM needs, uid/gid 1000, its own network namespace (the tap lives there),
# a cgroup v2 with a pids limit. The guest uses block, net and vsock; from outside we check the
# jailed process's uid, its root, its cgroup and that every thread runs under a seccomp filter.
. "$L1_SCRIPTS/lib.sh"
[ -n "${JAILER-}" ] || l1_fail "no ember-jailer next to the ember binary"

id=e2e-jail
base="$SCRATCH/jail"
root="$base/$(basename "$EMBER")/$id/root"
netns=e2ejail
mkdir -p "$root"
cp "$L2_VMLINUZ" "$root/vmlinuz"
cp "$L2_INITRAMFS" "$root/initramfs.cpio.gz"
cp "$L2_ROOTFS" "$root/rootfs.ext4"
chown 1000:1000 "$root/rootfs.ext4"
chmod 644 "$root/vmlinuz" "$root/initramfs.cpio.gz"
cat > "$root/vm.json" << JSON
{
  "boot-source": {"kernel_image_path": "/vmlinuz", "initrd_path": "/initramfs.cpio.gz", "boot_args": "$BOOT_ARGS"},
  "machine-config": {"vcpu_count": $E2E_VCPUS, "mem_size_mib": $E2E_MEM_MIB},
  "drives": [{"drive_id": "data", "path_on_host": "/rootfs.ext4", "is_root_device": false, "is_read_only": false}],
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}],
  "vsock": {"guest_cid": 3, "uds_path": "/v.sock"}
}
JSON

# The tap, owned by the jailed uid (no CAP_NET_ADMIN needed to attach), inside the namespace.
mkdir -p /run/netns
"$IP" netns add "$netns" || l1_fail "ip netns add"
trap '"$IP" netns del "$netns" 2> /dev/null; umount -l /jailtop 2> /dev/null' EXIT
"$IP" -n "$netns" tuntap add dev tap0 mode tap user 1000 || l1_fail "tap in the namespace"
"$IP" -n "$netns" addr add 172.16.0.1/30 dev tap0
"$IP" -n "$netns" link set tap0 up
"$IP" -n "$netns" link set lo up
# The guest's vsock connection to host port 6000 arrives on <uds_path>_6000 inside the chroot.
"$VSOCK_ECHO" uds-listen "$root/v.sock_6000" &
wait_for_socket "$root/v.sock_6000" 10 || l1_fail "vsock echo listener"
chmod 666 "$root/v.sock_6000"
grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup || l1_fail "cgroup2 mount"

# L1's root is its initramfs (the rootfs mount), where pivot_root(2) fails with EINVAL as it
# does for any process whose root is rootfs; a host boots from a real file system. So the jailer
# runs chrooted into a tmpfs that shows L1's folders through bind mounts.
top=/jailtop
mkdir -p "$top"
mount -t tmpfs tmpfs "$top" || l1_fail "tmpfs for the jailer's root"
for d in bin sbin lib lib64 usr e2e etc dev proc sys run tmp; do
  [ -e "/$d" ] || continue
  mkdir -p "$top/$d"
  mount --rbind "/$d" "$top/$d" || l1_fail "bind /$d"
done
chroot "$top" "$JAILER" --id "$id" --exec-file "$EMBER" --uid 1000 --gid 1000 --chroot-base-dir "$base" \
  --netns "/run/netns/$netns" --cgroup-version 2 --cgroup pids.max=100 \
  -- --no-api --config-file /vm.json > "$SCRATCH/console" 2> "$SCRATCH/ember.err" &
vm=$!
w=0
until grep -q "E2E-L2 init-reached" "$SCRATCH/console"; do
  kill -0 $vm 2> /dev/null || { cat "$SCRATCH/ember.err"; l1_fail "the jailed ember ended early"; }
  [ $w -ge 1500 ] && l1_fail "no guest after 150 s"
  sleep 0.1
  w=$((w + 1))
done
# The jailer exec'd ember: the same pid.
l1_say "jailed $(grep '^Uid:' /proc/$vm/status | tr -s '\t ' ' ')"
l1_say "jailed $(grep '^Gid:' /proc/$vm/status | tr -s '\t ' ' ')"
[ -f "/proc/$vm/root/vm.json" ] && [ ! -e "/proc/$vm/root/e2e" ] && l1_say "jailed root is the chroot"
l1_say "jailed cgroup $(cat /proc/$vm/cgroup)"
[ "$(readlink /proc/$vm/ns/net)" = "$(readlink /proc/self/ns/net)" ] || l1_say "jailed in its own network namespace"
threads=0
confined=0
for t in /proc/$vm/task/*; do
  threads=$((threads + 1))
  grep -q '^Seccomp:[[:space:]]*2' "$t/status" && confined=$((confined + 1))
done
l1_say "jailed seccomp $confined of $threads threads"
wait $vm
status=$?
cat "$SCRATCH/console"
[ -s "$SCRATCH/ember.err" ] && sed 's/^/E2E-L1S ember: /' "$SCRATCH/ember.err" | tail -n 5
l1_say "jailed ember exited with status $status"
exit $status
