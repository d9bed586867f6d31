// The virtio-vsock packet (virtio 1.2 §5.10.6): a 44-byte little-endian header, followed for
// VIRTIO_VSOCK_OP_RW by `len` payload bytes, carried by one descriptor chain. The device reads
// guest packets from the tx queue and writes its own into the driver's rx buffers; with
// VIRTIO_F_VERSION_1 neither side may assume how the chain is cut into descriptors (§2.6.4).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "devices/virtio/queue.h"
#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember::vsock {

// §5.10.4 / vsock(7): CID 2 is the host; the guest's own CID is in the config space.
inline constexpr uint64_t kHostCid = 2;

// §5.10.6: socket types. Only stream sockets are offered (no VIRTIO_VSOCK_F_SEQPACKET).
inline constexpr uint16_t kTypeStream = 1;

// §5.10.6: operations.
inline constexpr uint16_t kOpRequest = 1;
inline constexpr uint16_t kOpResponse = 2;
inline constexpr uint16_t kOpRst = 3;
inline constexpr uint16_t kOpShutdown = 4;
inline constexpr uint16_t kOpRw = 5;
inline constexpr uint16_t kOpCreditUpdate = 6;
inline constexpr uint16_t kOpCreditRequest = 7;

// §5.10.6.5: SHUTDOWN flags: the sender will receive no more / send no more.
inline constexpr uint32_t kShutdownReceive = 1;
inline constexpr uint32_t kShutdownSend = 2;
inline constexpr uint32_t kShutdownBoth = kShutdownReceive | kShutdownSend;

// §5.10.6.7: the one event, struct virtio_vsock_event { le32 id; }.
inline constexpr uint32_t kEventTransportReset = 0;
inline constexpr size_t kEventSize = 4;

// The largest payload one packet may carry. The spec leaves it to implementations; 64 KiB is
// what Linux drivers send at most, and anything larger is treated as a malformed packet.
inline constexpr uint32_t kMaxPayload = 64 * 1024;

// struct virtio_vsock_hdr (§5.10.6), decoded. Byte offsets in the wire format:
//   0 le64 src_cid   8 le64 dst_cid   16 le32 src_port   20 le32 dst_port   24 le32 len
//   28 le16 type     30 le16 op       32 le32 flags      36 le32 buf_alloc  40 le32 fwd_cnt
struct PacketHeader {
  uint64_t src_cid = 0;
  uint64_t dst_cid = 0;
  uint32_t src_port = 0;
  uint32_t dst_port = 0;
  uint32_t len = 0;
  uint16_t type = 0;
  uint16_t op = 0;
  uint32_t flags = 0;
  uint32_t buf_alloc = 0;
  uint32_t fwd_cnt = 0;
};
inline constexpr size_t kHeaderSize = 44;
using HeaderBytes = std::array<uint8_t, kHeaderSize>;

[[nodiscard]] HeaderBytes encode_header(const PacketHeader& h);
[[nodiscard]] PacketHeader decode_header(std::span<const uint8_t, kHeaderSize> bytes);
// "RW 1024 bytes 3:1025 -> 2:52", for logs.
[[nodiscard]] std::string describe_header(const PacketHeader& h);

// A guest packet from the tx queue: the header, and host views of exactly header.len payload
// bytes in guest memory.
struct TxPacket {
  PacketHeader header;
  std::vector<iovec> payload;
};

enum class TxParse {
  kOk,
  // No trustworthy header (too short, or device-writable buffers in a driver-to-device chain):
  // nobody can be told, the packet is dropped.
  kNoHeader,
  // The header is there but the payload does not match it (len beyond the chain, or over
  // kMaxPayload): the connection it names is reset.
  kBadPayload,
};

// Parses a tx chain into `out` (its payload vector is reused). `problem` gets a message for
// anything but kOk. An error means guest memory the queue had checked is unreachable.
[[nodiscard]] Result<TxParse> parse_tx_packet(const GuestMemory& mem, const DescriptorChain& chain,
                                              TxPacket* out, std::string* problem);

// The device-writable side of an rx (or event) chain as host views, filled front to back.
class RxChainView {
 public:
  // Maps the chain. Returns false (with `problem` set) when the chain cannot carry a packet
  // of `min_size` bytes or holds a driver-readable buffer. An error means guest memory the
  // queue had checked is unreachable.
  [[nodiscard]] Result<bool> map(const GuestMemory& mem, const DescriptorChain& chain,
                                 size_t min_size, std::string* problem);
  [[nodiscard]] size_t capacity() const { return capacity_; }
  // Copies `bytes` to offset `at` of the chain; the range must fit in capacity().
  void write(size_t at, std::span<const uint8_t> bytes) const;
  // Host views of [at, at + len) of the chain (len clamped to what fits), for readv().
  void views(size_t at, size_t len, std::vector<iovec>* out) const;

 private:
  std::vector<std::span<uint8_t>> spans_;
  size_t capacity_ = 0;
};

}  // namespace ember::vsock
