// A host TAP interface opened for a virtio-net device: /dev/net/tun attached to an existing
// interface (created by the operator, or by TUNSETIFF itself when we may create one), in
// IFF_TAP | IFF_NO_PI | IFF_VNET_HDR mode with a 12-byte virtio_net_hdr_v1 (TUNSETVNETHDRSZ),
// so frames cross the fd in the guest's own format. Non-blocking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "devices/virtio/net/net_backend.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

class Tap final : public NetBackend {
 public:
  // Opens interface `name` (1 to 15 bytes, as Linux allows: no '/', ':' or white space).
  [[nodiscard]] static Result<std::unique_ptr<Tap>> open(const std::string& name);
  // Checks a name without opening anything.
  [[nodiscard]] static Result<void> check_name(const std::string& name);

  [[nodiscard]] const std::string& name() const { return name_; }

  // NetBackend.
  [[nodiscard]] int fd() const override { return fd_.get(); }
  [[nodiscard]] std::string description() const override { return "tap '" + name_ + "'"; }
  [[nodiscard]] FrameIo read_frame(std::span<const iovec> iov) override;
  [[nodiscard]] FrameIo write_frame(std::span<const iovec> iov) override;
  // TUNSETOFFLOAD with the TUN_F_* flags matching `wanted`; when the kernel refuses a set,
  // tries smaller ones (without UFO, then checksum only, then none).
  [[nodiscard]] Result<GuestOffloads> set_guest_offloads(const GuestOffloads& wanted) override;

  // Use open().
  Tap(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

 private:
  UniqueFd fd_;
  std::string name_;
};

}  // namespace ember
