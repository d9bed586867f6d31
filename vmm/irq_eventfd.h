// An interrupt line backed by an irqfd: raising it never leaves the kernel's fast path.
#pragma once

#include <cstdint>

#include "devices/bus_device.h"
#include "vmm/kvm/kvm.h"
#include "base/event_fd.h"

namespace ember {

class IrqEventFd final : public IrqLine {
 public:
  [[nodiscard]] static Result<std::shared_ptr<IrqEventFd>> create(const VmFd& vm, uint32_t gsi);
  explicit IrqEventFd(EventFd fd) : fd_(std::move(fd)) {}
  void trigger() override { fd_.signal(); }

 private:
  EventFd fd_;
};

}  // namespace ember
