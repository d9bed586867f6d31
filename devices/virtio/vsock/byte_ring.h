// A bounded FIFO of bytes: guest data for a host socket that could not take it yet. Its
// storage is allocated on first use and given back whenever it drains, so the thousands of
// idle connections a guest may hold cost no buffer memory.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace ember::vsock {

class ByteRing {
 public:
  explicit ByteRing(size_t capacity) : capacity_(capacity) {}

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] size_t capacity() const { return capacity_; }
  [[nodiscard]] size_t free_space() const { return capacity_ - size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  // Appends all of `bytes`; they must fit (free_space()).
  void append(std::span<const uint8_t> bytes);
  // The stored bytes as at most two views, oldest first; returns how many are used.
  [[nodiscard]] size_t readable(std::array<iovec, 2>* out) const;
  // Drops the `n` oldest bytes (n <= size()).
  void consume(size_t n);
  // Drops everything and frees the storage.
  void clear();

 private:
  size_t capacity_;
  std::unique_ptr<uint8_t[]> storage_;
  size_t head_ = 0;  // index of the oldest byte
  size_t size_ = 0;
};

}  // namespace ember::vsock
