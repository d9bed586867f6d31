#include "devices/rate_limiter/clock.h"

#include <time.h>

namespace ember {
namespace {

class SystemMonotonicClock final : public MonotonicClock {
 public:
  uint64_t now_ns() const override {
    timespec ts{};
    // CLOCK_MONOTONIC cannot fail with a valid timespec pointer.
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }
};

}  // namespace

const MonotonicClock& system_monotonic_clock() {
  static const SystemMonotonicClock clock;
  return clock;
}

}  // namespace ember
