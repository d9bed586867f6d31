// Where a virtio-net device's frames go to and come from on the host: a TAP device in the
// VMM (tap.h), a socket in tests. Every frame crosses the backend with the 12-byte
// virtio_net_hdr in front of it (virtio 1.2 §5.1.6), exactly as the guest sees it, so the
// device passes guest buffers to the backend without copying.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>

#include "base/result.h"

namespace ember {

// The outcome of moving one frame.
struct FrameIo {
  enum class Status {
    kDone,        // `bytes` bytes moved (a read: the frame's length, header included)
    kWouldBlock,  // nothing to read / no room to write now
    kFailed,      // `error` holds errno
  };
  Status status = Status::kDone;
  size_t bytes = 0;
  int error = 0;
};

// The offloads the guest driver accepts on receive (VIRTIO_NET_F_GUEST_*): what the backend
// may hand over without finishing checksums or segmentation itself.
struct GuestOffloads {
  bool csum = false;  // partially checksummed frames (GUEST_CSUM)
  bool tso4 = false;  // GUEST_TSO4
  bool tso6 = false;  // GUEST_TSO6
  bool ufo = false;   // GUEST_UFO
  bool operator==(const GuestOffloads&) const = default;
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  // Non-blocking fd to watch for EPOLLIN (edge-triggered: see VirtioNet).
  [[nodiscard]] virtual int fd() const = 0;
  // For logs and errors: "tap 'tap0'".
  [[nodiscard]] virtual std::string description() const = 0;
  // Reads one frame into `iov`. A frame longer than `iov` is cut short; the length reported is
  // then either what was copied (sockets) or the whole frame's (a tap). The device gives one
  // byte more room than it accepts, so either way a frame that did not fit reads as longer
  // than the buffers it owns.
  [[nodiscard]] virtual FrameIo read_frame(std::span<const iovec> iov) = 0;
  // Writes one frame gathered from `iov`.
  [[nodiscard]] virtual FrameIo write_frame(std::span<const iovec> iov) = 0;
  // Tells the backend which offloads the guest accepts; returns those it will actually use
  // (a subset: a host may not support some).
  [[nodiscard]] virtual Result<GuestOffloads> set_guest_offloads(const GuestOffloads& wanted) = 0;
};

}  // namespace ember
