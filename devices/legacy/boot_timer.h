// The boot timer: a one-page MMIO device the guest pokes once it has booted far enough (the
// test guests and the guest agent write the magic byte 123 to offset 0), so the VMM can log
// how long the boot took in wall-clock and process CPU time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "devices/bus_device.h"
#include "base/result.h"

namespace ember {

class BootTimer final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint8_t kMagicValue = 123;

  // When the clock started: wall time, and the process CPU time
  // (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)) at that moment.
  struct StartPoint {
    std::chrono::steady_clock::time_point wall;
    std::chrono::nanoseconds cpu;
    // Both clocks read now.
    [[nodiscard]] static StartPoint now();
  };

  struct Measurement {
    uint64_t wall_us;
    uint64_t cpu_us;
  };
  using Observer = std::function<void(const Measurement&)>;

  // The device has no guest-visible state; the struct exists so the snapshot code can treat
  // every device alike. A restored VM does not re-time its boot.
  struct State {};

  // `observer` (optional) runs on the vCPU thread after each measurement, without the
  // device lock held.
  explicit BootTimer(StartPoint start, Observer observer = {});

  // Reads return 0.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  // A write whose little-endian value is 123 at offset 0 takes and logs a measurement;
  // anything else is ignored.
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The most recent measurement, if the guest has reported yet.
  [[nodiscard]] std::optional<Measurement> last_measurement() const;

  [[nodiscard]] State save_state() const { return {}; }
  [[nodiscard]] Result<void> restore_state(const State&) { return {}; }

 private:
  const StartPoint start_;
  const Observer observer_;
  mutable std::mutex lock_;
  std::optional<Measurement> last_;
};

}  // namespace ember
