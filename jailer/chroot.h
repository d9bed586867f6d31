// Entering the jail: a private mount namespace whose only mount is the chroot directory (pivot_root,
// old root detached), and the few device nodes the jailed VMM needs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember::jailer {

struct DeviceNode {
  std::string path;  // inside the jail, e.g. /dev/kvm
  dev_t rdev;        // major/minor as on the host
};

// /dev/kvm, /dev/net/tun and /dev/urandom with the host's major/minor numbers (stat() of the host
// nodes). A host node that does not exist (tun not loaded) gets its number from the kernel's
// devices list (Documentation/admin-guide/devices.txt: kvm 10:232, tun 10:200, urandom 1:9).
[[nodiscard]] Result<std::vector<DeviceNode>> host_device_nodes();

// unshare(CLONE_NEWNS), every mount private (recursively, so nothing propagates back to the
// host), the chroot directory bind-mounted onto itself (pivot_root needs a mount point),
// pivot_root into it, the old root detached and removed, chroot("."). Afterwards "/" is
// chroot_dir and nothing of the host's file system is reachable by path.
[[nodiscard]] Result<void> pivot_into(const std::string& chroot_dir);

// Inside the jail: /dev, /dev/net and /run (0700, owned by uid:gid; /run is where ember's default
// API socket goes), then each node (character device, 0600, owned by uid:gid).
[[nodiscard]] Result<void> populate_jail(const std::vector<DeviceNode>& nodes, uint32_t uid, uint32_t gid);

}  // namespace ember::jailer
