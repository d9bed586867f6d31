// The live, lock-free side of a device's metrics counters. A device's counters are listed once,
// as a plain struct of uint64_t fields (block/block_counters.h, ...) that metrics copy around;
// AtomicCounters<T> keeps one atomic per field of that struct, so the device can count from any
// thread while metrics read, and the two can never list different fields.
//
// A field is named by its member pointer: counters.add(&VirtioBlockCounters::read_bytes, n).
// Every access is relaxed: each counter is a total of its own, and no reader infers anything
// about other memory from a value it sees.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ember {

// T: a struct of uint64_t fields only (no padding, nothing else).
template <typename T>
class AtomicCounters {
  static_assert(std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>,
                "counters are a plain struct without padding");
  static_assert(sizeof(T) % sizeof(uint64_t) == 0 && alignof(T) == alignof(uint64_t),
                "counters are a struct of uint64_t fields");
  static constexpr size_t kFields = sizeof(T) / sizeof(uint64_t);
  using Words = std::array<uint64_t, kFields>;

 public:
  using Field = uint64_t T::*;

  void add(Field field, uint64_t n = 1) { slot(field).fetch_add(n, std::memory_order_relaxed); }
  // For a counter that is a level (open connections, ...) rather than a total.
  void set(Field field, uint64_t value) { slot(field).store(value, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t get(Field field) const {
    return values_[kIndex.*field].load(std::memory_order_relaxed);
  }
  // Every counter, each read atomically (not all at one instant).
  [[nodiscard]] T snapshot() const {
    Words words;
    for (size_t i = 0; i < kFields; ++i) words[i] = values_[i].load(std::memory_order_relaxed);
    return std::bit_cast<T>(words);
  }

 private:
  // A T whose every field holds its own position: reading a field of it gives the index of
  // that field's atomic, the same way snapshot() lays the atomics back into a T.
  static constexpr T kIndex = [] {
    Words words{};
    for (size_t i = 0; i < kFields; ++i) words[i] = i;
    return std::bit_cast<T>(words);
  }();

  std::atomic<uint64_t>& slot(Field field) { return values_[kIndex.*field]; }

  std::array<std::atomic<uint64_t>, kFields> values_{};
};

}  // namespace ember
