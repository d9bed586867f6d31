#include "devices/virtio/net/tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "devices/virtio/net/virtio_net_defs.h"
#include "base/errno_error.h"

namespace ember {
namespace {

FrameIo io_result(ssize_t n) {
  if (n >= 0) return {FrameIo::Status::kDone, static_cast<size_t>(n), 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {FrameIo::Status::kWouldBlock, 0, EAGAIN};
  return {FrameIo::Status::kFailed, 0, errno};
}

// Readv/writev take at most IOV_MAX (1024) buffers; a chain is at most a queue's size, which
// can exceed that only for a 32768-entry queue. Such a frame is refused rather than cut.
FrameIo too_many_buffers() { return {FrameIo::Status::kFailed, 0, EMSGSIZE}; }
constexpr size_t kMaxIov = 1024;

unsigned tun_flags(const GuestOffloads& o) {
  // Segmentation offloads are only accepted together with checksum offload (the kernel
  // refuses TSO/UFO without TUN_F_CSUM).
  if (!o.csum) return 0;
  unsigned flags = TUN_F_CSUM;
  if (o.tso4) flags |= TUN_F_TSO4;
  if (o.tso6) flags |= TUN_F_TSO6;
  if (o.ufo) flags |= TUN_F_UFO;
  return flags;
}

GuestOffloads from_tun_flags(unsigned flags) {
  return {.csum = (flags & TUN_F_CSUM) != 0, .tso4 = (flags & TUN_F_TSO4) != 0,
          .tso6 = (flags & TUN_F_TSO6) != 0, .ufo = (flags & TUN_F_UFO) != 0};
}

}  // namespace

Result<void> Tap::check_name(const std::string& name) {
  if (name.empty()) return make_error("tap interface name is empty");
  if (name.size() >= IFNAMSIZ)
    return make_error("tap interface name '" + name + "' is longer than " +
                      std::to_string(IFNAMSIZ - 1) + " bytes");
  if (name == "." || name == "..")
    return make_error("tap interface name '" + name + "' is not an interface name");
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || std::isspace(u) != 0 || u < 0x20 || u == 0x7f)
      return make_error("tap interface name '" + name +
                        "' contains '/', ':', white space or a control character");
  }
  return {};
}

Result<std::unique_ptr<Tap>> Tap::open(const std::string& name) {
  TRY(check_name(name));
  const std::string what = "cannot open tap '" + name + "'";
  const int raw = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (raw < 0) {
    const int err = errno;
    return make_error(what + ": /dev/net/tun: " + std::strerror(err) +
                      (err == ENOENT ? " (is the tun module loaded?)" : ""));
  }
  UniqueFd fd(raw);

  ifreq req{};
  std::memcpy(req.ifr_name, name.data(), name.size());  // checked: shorter than IFNAMSIZ
  req.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &req) < 0) {
    const int err = errno;
    std::string hint = " (does the interface exist? are you root?)";
    if (err == EBUSY) hint = " (is another process attached to it?)";
    if (err == EINVAL) hint = " (is it a tun, or a multi-queue tap? ember needs a plain tap)";
    return make_error(what + ": TUNSETIFF: " + std::strerror(err) + hint);
  }
  const int header_size = static_cast<int>(virtio_net::kHeaderSize);
  if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &header_size) < 0)
    return with_context(what, errno_error("TUNSETVNETHDRSZ " + std::to_string(header_size)));
  // No offloads until the guest has said which it accepts (activate()).
  if (::ioctl(fd.get(), TUNSETOFFLOAD, 0ul) < 0)
    return with_context(what, errno_error("TUNSETOFFLOAD 0"));
  return std::make_unique<Tap>(std::move(fd), name);
}

FrameIo Tap::read_frame(std::span<const iovec> iov) {
  if (iov.size() > kMaxIov) return too_many_buffers();
  return io_result(::readv(fd_.get(), iov.data(), static_cast<int>(iov.size())));
}

FrameIo Tap::write_frame(std::span<const iovec> iov) {
  if (iov.size() > kMaxIov) return too_many_buffers();
  return io_result(::writev(fd_.get(), iov.data(), static_cast<int>(iov.size())));
}

Result<GuestOffloads> Tap::set_guest_offloads(const GuestOffloads& wanted) {
  // Most wanted first; each try drops what an older or stricter kernel may refuse.
  const unsigned full = tun_flags(wanted);
  const unsigned tries[] = {full, full & ~unsigned{TUN_F_UFO}, full & unsigned{TUN_F_CSUM}, 0u};
  int last_error = 0;
  for (const unsigned flags : tries) {
    if (::ioctl(fd_.get(), TUNSETOFFLOAD, static_cast<unsigned long>(flags)) == 0)
      return from_tun_flags(flags);
    last_error = errno;
  }
  return make_error(description() + ": TUNSETOFFLOAD refused even no offloads: " +
                    std::strerror(last_error));
}

}  // namespace ember
