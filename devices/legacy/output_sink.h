// Where a console device sends the bytes the guest transmits.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "base/unique_fd.h"

namespace ember {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Called from vCPU threads, possibly several at once: implementations must be thread-safe
  // and must not call back into the device that feeds them.
  virtual void write_bytes(std::span<const uint8_t> bytes) = 0;
};

// Writes to a file descriptor (the VMM's stdout, a log file, a pipe in tests). Retries on
// EINTR and short writes; other failures (EAGAIN on a non-blocking fd included) drop the rest
// of the chunk: losing console bytes is better than stalling a vCPU on a full pipe.
class FdOutputSink final : public OutputSink {
 public:
  // Borrows `fd`: the caller keeps it open for the sink's lifetime.
  explicit FdOutputSink(int fd) : fd_(fd) {}
  // Owns `fd` and closes it with the sink.
  explicit FdOutputSink(UniqueFd fd) : owned_(std::move(fd)), fd_(owned_.get()) {}

  void write_bytes(std::span<const uint8_t> bytes) override;

  // Bytes that could not be written, for metrics and tests.
  [[nodiscard]] uint64_t dropped_bytes() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  UniqueFd owned_;
  int fd_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> warned_{false};
};

}  // namespace ember
