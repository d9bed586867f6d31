// Test doubles shared by the legacy device tests.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "devices/bus_device.h"
#include "devices/legacy/output_sink.h"
#include "base/log.h"

namespace ember::testing {

class CountingIrqLine final : public IrqLine {
 public:
  void trigger() override { ++count_; }
  [[nodiscard]] int count() const { return count_.load(); }
  // Returns the triggers since the last call, so a test can check each step on its own.
  int take() { return count_.exchange(0); }

 private:
  std::atomic<int> count_{0};
};

class CapturingSink final : public OutputSink {
 public:
  void write_bytes(std::span<const uint8_t> bytes) override {
    std::lock_guard<std::mutex> guard(lock_);
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }
  std::vector<uint8_t> bytes() const {
    std::lock_guard<std::mutex> guard(lock_);
    return bytes_;
  }
  std::string text() const {
    auto b = bytes();
    return std::string(b.begin(), b.end());
  }

 private:
  mutable std::mutex lock_;
  std::vector<uint8_t> bytes_;
};

// Sends the process log to an in-memory file for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : fd_(memfd_create("ember-test-log", 0)) {
    log_configure("test", LogLevel::kInfo);
    log_set_fd(fd_);
  }
  ~LogCapture() {
    log_set_fd(STDERR_FILENO);
    if (fd_ >= 0) ::close(fd_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const {
    std::string out;
    char buf[4096];
    off_t pos = 0;
    for (;;) {
      ssize_t n = ::pread(fd_, buf, sizeof buf, pos);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      pos += n;
    }
    return out;
  }

 private:
  int fd_;
};

// Bus-style helpers: one-byte accesses, the way guests touch these devices.
inline uint8_t read_byte(BusDevice& dev, uint64_t offset) {
  uint8_t b = 0xee;
  dev.read(offset, std::span<uint8_t>(&b, 1));
  return b;
}
inline void write_byte(BusDevice& dev, uint64_t offset, uint8_t value) {
  dev.write(offset, std::span<const uint8_t>(&value, 1));
}

}  // namespace ember::testing
