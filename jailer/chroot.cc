#include "jailer/chroot.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_error.h"

namespace ember::jailer {

namespace {

struct KnownNode {
  const char* path;
  unsigned major;
  unsigned minor;
};

// Documentation/admin-guide/devices.txt.
constexpr KnownNode kNodes[] = {{"/dev/kvm", 10, 232}, {"/dev/net/tun", 10, 200}, {"/dev/urandom", 1, 9}};

constexpr const char* kOldRoot = "old_root";

Result<void> make_owned_dir(const char* path, uint32_t uid, uint32_t gid) {
  if (::mkdir(path, 0700) != 0 && errno != EEXIST) return errno_error(std::string("cannot create ") + path);
  if (::chmod(path, 0700) != 0) return errno_error(std::string("cannot chmod ") + path);
  if (::chown(path, uid, gid) != 0) return errno_error(std::string("cannot chown ") + path);
  return {};
}

}  // namespace

Result<std::vector<DeviceNode>> host_device_nodes() {
  std::vector<DeviceNode> nodes;
  for (const KnownNode& known : kNodes) {
    struct stat st {};
    if (::stat(known.path, &st) == 0) {
      if (!S_ISCHR(st.st_mode)) return make_error(std::string("host ") + known.path + " is not a character device");
      nodes.push_back({known.path, st.st_rdev});
    } else if (errno == ENOENT) {
      nodes.push_back({known.path, makedev(known.major, known.minor)});
    } else {
      return errno_error(std::string("cannot stat host ") + known.path);
    }
  }
  return nodes;
}

Result<void> pivot_into(const std::string& chroot_dir) {
  if (::unshare(CLONE_NEWNS) != 0) return errno_error("unshare(CLONE_NEWNS)");
  // pivot_root refuses shared mounts, and a private tree keeps the detached old root and the bind
  // mount below from propagating back to the host.
  if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) != 0) return errno_error("making / private");
  // The new root must be a mount point: bind the chroot directory onto itself.
  if (::mount(chroot_dir.c_str(), chroot_dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return errno_error("bind-mounting " + chroot_dir + " onto itself");
  if (::chdir(chroot_dir.c_str()) != 0) return errno_error("chdir " + chroot_dir);
  if (::mkdir(kOldRoot, 0700) != 0) return errno_error("cannot create " + chroot_dir + "/" + kOldRoot);
  if (::syscall(SYS_pivot_root, ".", kOldRoot) != 0) {
    Error e = errno_error("pivot_root into " + chroot_dir);
    ::rmdir(kOldRoot);
    return e;
  }
  if (::chdir("/") != 0) return errno_error("chdir / in the jail");
  // MNT_DETACH: mounts below the old root may be busy; they vanish from this namespace now.
  if (::umount2(kOldRoot, MNT_DETACH) != 0) return errno_error("unmounting the old root");
  if (::rmdir(kOldRoot) != 0) return errno_error("removing the old root's directory");
  if (::chroot(".") != 0) return errno_error("chroot .");
  return {};
}

Result<void> populate_jail(const std::vector<DeviceNode>& nodes, uint32_t uid, uint32_t gid) {
  TRY(make_owned_dir("/dev", uid, gid));
  TRY(make_owned_dir("/dev/net", uid, gid));
  TRY(make_owned_dir("/run", uid, gid));
  for (const DeviceNode& node : nodes) {
    if (::mknod(node.path.c_str(), S_IFCHR | 0600, node.rdev) != 0)
      return errno_error("mknod " + node.path + " (" + std::to_string(major(node.rdev)) + ":" +
                         std::to_string(minor(node.rdev)) + ")");
    if (::chmod(node.path.c_str(), 0600) != 0) return errno_error("cannot chmod " + node.path);
    if (::chown(node.path.c_str(), uid, gid) != 0) return errno_error("cannot chown " + node.path);
  }
  return {};
}

}  // namespace ember::jailer
