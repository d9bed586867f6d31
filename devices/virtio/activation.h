// What VirtioDevice::activate() hands a device and reset() takes back: guest memory, the
// device's queues and its interrupt. A device is active exactly while it holds them, so this
// one object is also the device's "am I active" flag.
//
// Threads: like the device methods that use it, it relies on the transport's lock (see
// virtio_device.h); only activate() and reset() change it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "devices/virtio/queue.h"
#include "devices/virtio/virtio_device.h"
#include "base/check.h"

namespace ember {

class VirtioActivation {
 public:
  // From activate(): everything stays valid until reset() (VirtioDevice::activate()).
  void set(const GuestMemory& mem, std::span<VirtQueue> queues, VirtioInterrupt& interrupt) {
    mem_ = &mem;
    queues_ = queues;
    interrupt_ = &interrupt;
  }
  // From reset(): inactive again.
  void clear() {
    mem_ = nullptr;
    queues_ = {};
    interrupt_ = nullptr;
  }
  [[nodiscard]] bool active() const { return mem_ != nullptr; }

  // The rest only while active.
  [[nodiscard]] const GuestMemory& mem() const {
    CHECK_MSG(active(), "virtio device used its guest memory while inactive");
    return *mem_;
  }
  // The queue at `index` of those activate() got (a valid index).
  [[nodiscard]] VirtQueue& queue(size_t index) const {
    CHECK_MSG(active() && index < queues_.size(), "virtio device used a queue it does not have");
    return queues_[index];
  }
  [[nodiscard]] VirtioInterrupt& interrupt() const {
    CHECK_MSG(active(), "virtio device used its interrupt while inactive");
    return *interrupt_;
  }
  // After the device returned buffers on queue `index` (`used`): a used-buffer notification,
  // if the driver wants one (§2.7.7, VirtQueue::needs_notification()).
  void notify_used(uint16_t index, bool used) const {
    if (used && queue(index).needs_notification()) interrupt().signal_used_queue(index);
  }

 private:
  const GuestMemory* mem_ = nullptr;
  std::span<VirtQueue> queues_;
  VirtioInterrupt* interrupt_ = nullptr;
};

}  // namespace ember
