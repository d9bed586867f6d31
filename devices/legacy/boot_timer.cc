#include "devices/legacy/boot_timer.h"

#include <time.h>

#include <algorithm>
#include <string>

#include "base/log.h"

namespace ember {
namespace {

std::chrono::nanoseconds process_cpu_time() {
  timespec ts{};
  // CLOCK_PROCESS_CPUTIME_ID cannot fail on Linux for the calling process; if it somehow
  // did, reporting 0 CPU time is better than failing the guest's write.
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return std::chrono::nanoseconds{0};
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

// Microseconds elapsed, clamped at 0 in case a start point lies in the future.
uint64_t elapsed_us(std::chrono::nanoseconds elapsed) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  return us > 0 ? static_cast<uint64_t>(us) : 0;
}

}  // namespace

BootTimer::StartPoint BootTimer::StartPoint::now() {
  return StartPoint{std::chrono::steady_clock::now(), process_cpu_time()};
}

BootTimer::BootTimer(StartPoint start, Observer observer)
    : start_(start), observer_(std::move(observer)) {}

void BootTimer::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
}

void BootTimer::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty() || data.size() > sizeof(uint64_t)) return;
  uint64_t value = 0;
  for (size_t i = 0; i < data.size(); ++i) value |= uint64_t{data[i]} << (8 * i);
  if (value != kMagicValue) return;

  const Measurement m{
      elapsed_us(std::chrono::steady_clock::now() - start_.wall),
      elapsed_us(process_cpu_time() - start_.cpu),
  };
  {
    std::lock_guard<std::mutex> guard(lock_);
    last_ = m;
  }
  log_info("Guest-boot-time = " + std::to_string(m.wall_us) + " us " +
           std::to_string(m.wall_us / 1000) + " ms, " + std::to_string(m.cpu_us) + " CPU us " +
           std::to_string(m.cpu_us / 1000) + " CPU ms");
  if (observer_) observer_(m);
}

std::optional<BootTimer::Measurement> BootTimer::last_measurement() const {
  std::lock_guard<std::mutex> guard(lock_);
  return last_;
}

}  // namespace ember
