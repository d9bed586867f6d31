// The pvpanic device (QEMU's docs/specs/pvpanic.rst): one I/O port through which a guest
// kernel reports that it panicked. Linux's pvpanic-mmio driver binds to ACPI _HID "QEMU0001"
// and takes the port from _CRS. Reading the port tells the guest which events we accept.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "devices/bus_device.h"

namespace ember {

class PvPanic final : public BusDevice {
 public:
  static constexpr uint8_t kPanicked = 1u << 0;
  static constexpr uint8_t kCrashLoaded = 1u << 1;
  static constexpr uint64_t kPortCount = 1;

  struct State {};

  // `panicked` runs on the vCPU thread when the guest reports a panic.
  explicit PvPanic(std::function<void()> panicked) : panicked_(std::move(panicked)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  [[nodiscard]] State save_state() const { return {}; }

 private:
  const std::function<void()> panicked_;
};

}  // namespace ember
