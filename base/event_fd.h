// An eventfd: the doorbell between threads, and the fd behind irqfd/ioeventfd.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

class EventFd {
 public:
  [[nodiscard]] static Result<EventFd> create(bool nonblocking = true);
  [[nodiscard]] int fd() const { return fd_.get(); }
  // Adds 1 to the counter. Failure means the counter is saturated, which cannot happen with
  // our readers, so it is ignored.
  void signal() const;
  // Reads and resets the counter; returns 0 when nothing was pending (non-blocking fd).
  uint64_t drain() const;

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace ember
