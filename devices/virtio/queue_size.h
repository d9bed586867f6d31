// The queue sizes a device here may be configured with: each of its queues' maximum size
// (what QueueNumMax reports, §4.2.2), a power of two (§2.7) no larger than 32768, and at least
// 2 (a block request needs a header and a status descriptor).
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "devices/virtio/virtio_defs.h"

namespace ember {

[[nodiscard]] constexpr bool valid_device_queue_size(uint32_t size) {
  return std::has_single_bit(size) && size >= 2 && size <= virtio::kMaxQueueSizeLimit;
}

// For a device's check_config(): `device` names it in the error ("block", "net", "vsock").
[[nodiscard]] inline Result<void> check_device_queue_size(std::string_view device,
                                                          uint32_t size) {
  if (valid_device_queue_size(size)) return {};
  return make_error(std::string(device) + " queue size " + std::to_string(size) +
                    " is not a power of two between 2 and 32768");
}

}  // namespace ember
