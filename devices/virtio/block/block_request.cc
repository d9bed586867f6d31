#include "devices/virtio/block/block_request.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace ember {
namespace {

using namespace virtio_blk;  // NOLINT(google-build-using-namespace): the spec's names

// Appends to `out` the pieces of `bufs` that hold bytes [start, start + len) of their
// concatenation. The caller has checked the range lies inside.
void take_range(std::span<const DescriptorBuffer> bufs, uint64_t start, uint64_t len,
                std::vector<DescriptorBuffer>* out) {
  for (const auto& b : bufs) {
    if (len == 0) return;
    if (start >= b.len) {
      start -= b.len;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(b.len - start, len);
    out->push_back({b.addr + start, static_cast<uint32_t>(n), b.device_writable});
    len -= n;
    start = 0;
  }
}

uint64_t total_len(std::span<const DescriptorBuffer> bufs) {
  uint64_t total = 0;
  for (const auto& b : bufs) total += b.len;
  return total;
}

void refuse(BlockRequest* out, uint8_t status, std::string problem) {
  out->status = status;
  out->problem = std::move(problem);
}

}  // namespace

void parse_block_request(const GuestMemory& mem, const DescriptorChain& chain,
                         const BlockDiskInfo& disk, BlockRequest* out) {
  out->type = 0;
  out->sector = 0;
  out->data.clear();
  out->data_len = 0;
  out->has_status = false;
  out->status_addr = 0;
  out->status = kStatusOk;
  out->problem.clear();

  const std::span<const DescriptorBuffer> bufs = chain.buffers;
  // The status is the chain's last byte, and it must be device-writable.
  if (bufs.empty() || !bufs.back().device_writable || bufs.back().len == 0) {
    refuse(out, kStatusIoErr, "request does not end in a device-writable status byte");
    return;
  }
  out->has_status = true;
  out->status_addr = bufs.back().addr + bufs.back().len - 1;

  // Device-readable buffers come first, device-writable ones after (§2.7.4.2).
  const auto first_writable = static_cast<size_t>(
      std::find_if(bufs.begin(), bufs.end(), [](const auto& b) { return b.device_writable; }) -
      bufs.begin());
  for (size_t i = first_writable; i < bufs.size(); ++i) {
    if (!bufs[i].device_writable) {
      refuse(out, kStatusIoErr, "a device-readable buffer follows a device-writable one");
      return;
    }
  }
  const auto readable = bufs.first(first_writable);
  const auto writable = bufs.subspan(first_writable);
  const uint64_t readable_len = total_len(readable);
  const uint64_t writable_len = total_len(writable);  // at least 1: the status byte

  if (readable_len < kHeaderSize) {
    refuse(out, kStatusIoErr, "request header has " + std::to_string(readable_len) +
                                  " device-readable bytes, needs 16");
    return;
  }
  uint8_t header[kHeaderSize];
  uint64_t copied = 0;
  for (const auto& b : readable) {
    if (copied == kHeaderSize) break;
    const uint64_t n = std::min<uint64_t>(b.len, kHeaderSize - copied);
    if (!mem.read(b.addr, std::span<uint8_t>(header + copied, n))) {
      refuse(out, kStatusIoErr, "request header is outside guest memory");
      return;
    }
    copied += n;
  }
  std::memcpy(&out->type, header, sizeof out->type);
  std::memcpy(&out->sector, header + 8, sizeof out->sector);

  const uint64_t readable_data = readable_len - kHeaderSize;
  const uint64_t writable_data = writable_len - 1;
  switch (out->type) {
    case kTypeIn:
    case kTypeGetId:
      if (readable_data != 0) {
        refuse(out, kStatusIoErr, "request type " + std::to_string(out->type) + " carries " +
                                      std::to_string(readable_data) +
                                      " device-readable data bytes; its data is device-writable");
        return;
      }
      take_range(writable, 0, writable_data, &out->data);
      out->data_len = writable_data;
      break;
    case kTypeOut:
      if (writable_data != 0) {
        refuse(out, kStatusIoErr, "write request has " + std::to_string(writable_data) +
                                      " device-writable bytes besides the status");
        return;
      }
      take_range(readable, kHeaderSize, readable_data, &out->data);
      out->data_len = readable_data;
      break;
    case kTypeFlush:
      if (readable_data != 0 || writable_data != 0) {
        refuse(out, kStatusIoErr, "flush request carries data");
        return;
      }
      return;
    default:
      refuse(out, kStatusUnsupp, "request type " + std::to_string(out->type) + " is not supported");
      return;
  }
  if (out->type == kTypeGetId) return;

  // Reads and writes move whole 512-byte sectors inside the disk (§5.2.6).
  if (out->data_len % kSectorSize != 0) {
    refuse(out, kStatusIoErr, "data length " + std::to_string(out->data_len) +
                                  " is not a multiple of 512");
    return;
  }
  const uint64_t sectors = out->data_len / kSectorSize;
  if (out->sector > disk.capacity_sectors || sectors > disk.capacity_sectors - out->sector) {
    refuse(out, kStatusIoErr, std::to_string(sectors) + " sectors from sector " +
                                  std::to_string(out->sector) + " go past the disk's " +
                                  std::to_string(disk.capacity_sectors) + " sectors");
    return;
  }
  // §5.2.6.2: a write to a device offering VIRTIO_BLK_F_RO fails with IOERR, writing nothing.
  if (out->type == kTypeOut && disk.read_only) {
    refuse(out, kStatusIoErr, "write to a read-only disk");
    return;
  }
}

}  // namespace ember
