#include "emberctl/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::ctl {
namespace {

// Attaches to the tap `name` (creating it if missing) and sets its persistence.
Result<void> set_persistent(const std::string& name, bool persistent) {
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tun.valid()) return errno_error("/dev/net/tun");
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  req.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(tun.get(), TUNSETIFF, &req) != 0) return errno_error("TUNSETIFF " + name);
  if (::ioctl(tun.get(), TUNSETPERSIST, persistent ? 1 : 0) != 0) return errno_error("TUNSETPERSIST " + name);
  return {};
}

Result<void> bring_up(const std::string& name) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return errno_error("socket");
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) return errno_error("SIOCGIFFLAGS " + name);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) return errno_error("SIOCSIFFLAGS " + name);
  return {};
}

}  // namespace

Result<TapDevice> TapDevice::create(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return make_error("tap name '" + name + "' is not 1 to 15 bytes");
  if (::geteuid() != 0)
    return make_error("--net needs root: creating and removing the tap device takes CAP_NET_ADMIN");
  struct stat st {};
  // TUNSETIFF would attach to an existing tap and we would then delete someone else's device.
  if (::stat(("/sys/class/net/" + name).c_str(), &st) == 0)
    return make_error("a network interface named " + name + " exists already");
  if (auto r = set_persistent(name, true); !r) return with_context("creating tap " + name, r.error());
  TapDevice tap(name);
  if (auto r = bring_up(name); !r) return with_context("creating tap " + name, r.error());
  return tap;
}

TapDevice::TapDevice(TapDevice&& o) noexcept : name_(std::exchange(o.name_, std::string())) {}

TapDevice::~TapDevice() { (void)remove(); }

Result<void> TapDevice::remove() {
  if (name_.empty()) return {};
  const std::string name = std::exchange(name_, std::string());
  return set_persistent(name, false);  // the last close of a non-persistent tap deletes it
}

std::string default_tap_name() { return "ember" + std::to_string(::getpid()); }

}  // namespace ember::ctl
