#include "devices/legacy/acpi_sleep.h"

#include <algorithm>
#include <string>

#include "base/log.h"

namespace ember {
namespace {

// SLEEP_CONTROL_REG layout (ACPI 6.4, 4.8.3.7): bits 2-4 SLP_TYPx, bit 5 SLP_EN.
constexpr uint8_t kSleepTypeShift = 2;
constexpr uint8_t kSleepTypeMask = 0x07;
constexpr uint8_t kSleepEnable = 0x20;

}  // namespace

AcpiSleep::AcpiSleep(std::function<void()> poweroff) : poweroff_(std::move(poweroff)) {}

void AcpiSleep::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
}

void AcpiSleep::write(uint64_t offset, std::span<const uint8_t> data) {
  // Writes to SLEEP_STATUS_REG (WAK_STS is write-1-to-clear) have nothing to clear.
  if (offset != kControlOffset || data.empty()) return;
  const uint8_t value = data[0];
  if ((value & kSleepEnable) == 0) return;  // SLP_TYP alone does nothing until SLP_EN
  const uint8_t type = (value >> kSleepTypeShift) & kSleepTypeMask;
  if (type == kAcpiS5SleepType) {
    if (poweroff_) poweroff_();
    return;
  }
  bool first_time;
  {
    std::lock_guard<std::mutex> guard(lock_);
    const auto bit = static_cast<uint8_t>(1u << type);
    first_time = (warned_types_ & bit) == 0;
    warned_types_ |= bit;
  }
  // Once per type: a guest looping on an unsupported sleep state must not flood the log.
  if (first_time) {
    log_warn("ACPI: guest asked for unsupported sleep type " + std::to_string(type) +
             "; ignoring");
  }
}

}  // namespace ember
