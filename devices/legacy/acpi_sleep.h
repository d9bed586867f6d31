// The ACPI hardware-reduced sleep registers (ACPI 6.4, 4.8.3.7 Sleep Control Register and
// 4.8.3.8 Sleep Status Register), which the FADT points at. Linux powers off by writing
// SLP_TYP (from the DSDT's \_S5_ package) together with SLP_EN to the control register.
//
// Two byte-wide ports: offset 0 SLEEP_CONTROL_REG, offset 1 SLEEP_STATUS_REG.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "devices/bus_device.h"
#include "base/result.h"

namespace ember {

// The SLP_TYP value that the DSDT's \_S5_ package must hand the guest for soft-off.
inline constexpr uint8_t kAcpiS5SleepType = 5;

class AcpiSleep final : public BusDevice {
 public:
  static constexpr uint64_t kControlOffset = 0;
  static constexpr uint64_t kStatusOffset = 1;
  static constexpr uint64_t kPortCount = 2;

  // No guest-visible state: both registers read 0. Present so the snapshot code can treat
  // every device alike.
  struct State {};

  // `poweroff` runs on the vCPU thread, without the device lock held, each time the guest
  // requests S5.
  explicit AcpiSleep(std::function<void()> poweroff);

  // Both registers read 0: the status register's WAK_STS never sets, since the VM does not
  // sleep and wake.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  [[nodiscard]] State save_state() const { return {}; }
  [[nodiscard]] Result<void> restore_state(const State&) { return {}; }

 private:
  const std::function<void()> poweroff_;
  std::mutex lock_;
  uint8_t warned_types_ = 0;  // one bit per SLP_TYP already warned about
};

}  // namespace ember
