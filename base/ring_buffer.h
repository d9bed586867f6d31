// A first-in first-out queue of at most N elements, held inline: no allocation ever, so a
// device's buffer costs the same whatever its guest does. Pushing onto a full ring and popping
// an empty one are the caller's bugs (CHECKed): callers decide what a full buffer means (drop
// the byte, report an overrun, refuse the input).
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "base/check.h"

namespace ember {

template <typename T, size_t N>
class RingBuffer {
  static_assert(N > 0, "a ring buffer holds at least one element");

 public:
  static constexpr size_t kCapacity = N;

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == N; }
  [[nodiscard]] size_t free_space() const { return N - size_; }

  // Appends at the back; the ring must not be full.
  void push(const T& value) {
    CHECK_MSG(size_ < N, "RingBuffer overflow");
    slots_[(head_ + size_) % N] = value;
    ++size_;
  }
  // Takes the oldest element; the ring must not be empty.
  [[nodiscard]] T pop() {
    CHECK_MSG(size_ > 0, "RingBuffer underflow");
    T value = slots_[head_];
    head_ = (head_ + 1) % N;
    --size_;
    return value;
  }
  // The i-th oldest element (0: the next pop()); i < size().
  [[nodiscard]] const T& operator[](size_t i) const {
    CHECK_MSG(i < size_, "RingBuffer index out of range");
    return slots_[(head_ + i) % N];
  }
  void clear() {
    head_ = 0;
    size_ = 0;
  }
  // Replaces the contents with `values`, oldest first; at most N of them (a snapshot restore
  // checks that first).
  void assign(std::span<const T> values) {
    CHECK_MSG(values.size() <= N, "RingBuffer assigned more than its capacity");
    clear();
    for (const T& v : values) push(v);
  }

 private:
  std::array<T, N> slots_{};
  size_t head_ = 0;  // index of the oldest element
  size_t size_ = 0;
};

}  // namespace ember
