// A MonotonicClock (devices/rate_limiter/clock.h) that a test moves by hand: for the rate
// limiters, the devices that use them and the MMDS's token expiry and TCP timers.
#pragma once

#include <cstdint>

#include "devices/rate_limiter/clock.h"

namespace ember::testing_clock {

class FakeClock : public MonotonicClock {
 public:
  // Anything but 0: code under test may take 0 for "never".
  explicit FakeClock(uint64_t start_ns = 1'000'000'000) : now(start_ns) {}
  [[nodiscard]] uint64_t now_ns() const override { return now; }
  void advance(uint64_t ns) { now += ns; }
  void advance_ms(uint64_t ms) { now += ms * 1'000'000; }
  void advance_s(uint64_t s) { now += s * 1'000'000'000; }
  uint64_t now;
};

}  // namespace ember::testing_clock
