// An interrupt line backed by an irqfd: raising it never leaves the kernel's fast path.
#pragma once

#include <atomic>
#include <cstdint>

#include "devices/bus_device.h"
#include "vmm/kvm/kvm.h"
#include "base/event_fd.h"

namespace ember {

class IrqEventFd final : public IrqLine {
 public:
  [[nodiscard]] static Result<std::shared_ptr<IrqEventFd>> create(const VmFd& vm, uint32_t gsi);
  explicit IrqEventFd(EventFd fd) : fd_(std::move(fd)) {}
  void trigger() override {
    triggers_.fetch_add(1, std::memory_order_relaxed);
    fd_.signal();
  }
  // Interrupts raised by every line of the process (one microVM per process): Firecracker's
  // interrupts.triggers, for metrics.
  [[nodiscard]] static uint64_t total_triggers() { return triggers_.load(std::memory_order_relaxed); }

 private:
  EventFd fd_;
  static inline std::atomic<uint64_t> triggers_{0};
};

}  // namespace ember
