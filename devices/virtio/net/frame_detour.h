// A service the VMM answers itself on a guest's network interface (the MMDS, mmds/): frames
// the guest sends to it are handed here instead of to the backend, and the frames it answers
// with reach the guest's receive queue ahead of the backend's. The device knows nothing of
// what the service is; it only asks it, per transmitted frame, whether the frame is its own.
//
// All calls come from the VMM thread (the device's). Every frame here starts at the Ethernet
// header: the 12-byte virtio_net_hdr (virtio 1.2 §5.1.6) is the device's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ember {

class FrameDetour {
 public:
  // What wants() needs to see at most: an Ethernet header (14) and an ARP body (28), longer
  // than an IPv4 header (20).
  static constexpr size_t kPeekBytes = 14 + 28;
  // The largest frame next_frame() writes (Ethernet header + 1500 bytes of IPv4).
  static constexpr size_t kMaxFrameBytes = 1514;

  virtual ~FrameDetour() = default;
  // Whether the frame whose first bytes are `head` (up to kPeekBytes; shorter when the frame
  // is) belongs to the service. Answered from the headers only; looks at nothing else.
  [[nodiscard]] virtual bool wants(std::span<const uint8_t> head) const = 0;
  // Takes a whole frame that wants() claimed. `checksum_partial`: the guest left the L4
  // checksum for the device to finish (VIRTIO_NET_HDR_F_NEEDS_CSUM, virtio 1.2 §5.1.6.2), so
  // it cannot be checked. Malformed frames are counted and dropped inside; nothing fails.
  virtual void take(std::span<const uint8_t> frame, bool checksum_partial) = 0;
  // Whether next_frame() has something to write now.
  [[nodiscard]] virtual bool has_frame() = 0;
  // Writes the next frame for the guest into `buf` (at least kMaxFrameBytes long) and returns
  // its length, or 0 when there is none.
  [[nodiscard]] virtual size_t next_frame(std::span<uint8_t> buf) = 0;
};

}  // namespace ember
