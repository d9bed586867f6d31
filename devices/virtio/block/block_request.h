// Parsing a virtio-block request out of its descriptor chain (virtio 1.2 §5.2.6):
//
//   struct virtio_blk_req {
//     le32 type; le32 reserved; le64 sector;   // 16-byte header, device-readable
//     u8 data[];                               // device-readable (OUT) or -writable (IN, GET_ID)
//     u8 status;                               // last byte, device-writable
//   };
//
// The device must not assume how the driver cut this into descriptors (§2.7.4.1), so the
// parser works on byte ranges across the chain's buffers. Every malformed request becomes a
// status for the driver (IOERR, or UNSUPP for an unknown type) and a line for the log; none
// is fatal to the device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "devices/virtio/queue.h"
#include "memory/guest_memory.h"

namespace ember {

namespace virtio_blk {
// Request types and status values (§5.2.6).
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupp = 2;
inline constexpr uint64_t kHeaderSize = 16;
inline constexpr uint64_t kSectorSize = 512;
// GET_ID answers with a NUL-padded ASCII string of up to 20 bytes (§5.2.6).
inline constexpr uint64_t kIdBytes = 20;
}  // namespace virtio_blk

// What the parser needs to know about the disk.
struct BlockDiskInfo {
  uint64_t capacity_sectors = 0;
  bool read_only = false;
};

struct BlockRequest {
  uint32_t type = 0;
  uint64_t sector = 0;
  // The data bytes in order, without header and status: pieces of the chain's buffers.
  std::vector<DescriptorBuffer> data;
  uint64_t data_len = 0;
  // Where the status byte goes; has_status is false when the chain does not end in a
  // device-writable byte, and then no status can be reported at all.
  bool has_status = false;
  GuestAddress status_addr = 0;
  // kStatusOk: the request can run. Anything else: complete it at once with this status.
  uint8_t status = virtio_blk::kStatusOk;
  std::string problem;  // why status is not OK
};

// Fills `out` (whose vectors are reused) from `chain`. Never fails: problems end up in
// out->status / out->problem.
void parse_block_request(const GuestMemory& mem, const DescriptorChain& chain,
                         const BlockDiskInfo& disk, BlockRequest* out);

}  // namespace ember
