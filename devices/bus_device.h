// What a device on the port-I/O or MMIO bus implements. Devices know nothing of KVM: the
// vCPU thread hands them the offset inside their range and the access bytes.
#pragma once

#include <cstdint>
#include <span>

namespace ember {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // Fill `data` (1, 2, 4 or 8 bytes) with the value at `offset`. Unknown offsets read as 0.
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// An interrupt line a device raises; backed by an irqfd in the VMM, by a counter in tests.
class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void trigger() = 0;
};

}  // namespace ember
