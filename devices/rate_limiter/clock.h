// The time source of the rate limiter: a monotonic nanosecond clock, an interface so that tests
// can move time by hand.
#pragma once

#include <cstdint>

namespace ember {

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  // Nanoseconds since an arbitrary fixed point; never goes backwards.
  [[nodiscard]] virtual uint64_t now_ns() const = 0;
};

// CLOCK_MONOTONIC: the clock the limiter's timerfd runs on too. Lives for the whole process.
[[nodiscard]] const MonotonicClock& system_monotonic_clock();

}  // namespace ember
