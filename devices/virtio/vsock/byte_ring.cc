#include "devices/virtio/vsock/byte_ring.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace ember::vsock {

void ByteRing::append(std::span<const uint8_t> bytes) {
  CHECK_MSG(bytes.size() <= free_space(), "ByteRing overflow");
  if (bytes.empty()) return;
  if (!storage_) storage_ = std::make_unique_for_overwrite<uint8_t[]>(capacity_);
  size_t tail = (head_ + size_) % capacity_;
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t n = std::min(bytes.size() - done, capacity_ - tail);
    std::memcpy(storage_.get() + tail, bytes.data() + done, n);
    done += n;
    tail = (tail + n) % capacity_;
  }
  size_ += bytes.size();
}

size_t ByteRing::readable(std::array<iovec, 2>* out) const {
  if (size_ == 0) return 0;
  const size_t first = std::min(size_, capacity_ - head_);
  (*out)[0] = {storage_.get() + head_, first};
  if (first == size_) return 1;
  (*out)[1] = {storage_.get(), size_ - first};
  return 2;
}

void ByteRing::consume(size_t n) {
  CHECK_MSG(n <= size_, "ByteRing consumed more than it holds");
  size_ -= n;
  head_ = size_ == 0 ? 0 : (head_ + n) % capacity_;
  if (size_ == 0) storage_.reset();
}

void ByteRing::clear() {
  size_ = 0;
  head_ = 0;
  storage_.reset();
}

}  // namespace ember::vsock
