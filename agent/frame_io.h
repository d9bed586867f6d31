// Moving frames over a file descriptor (a vsock, a Unix socket, a socketpair), for both ends:
// blocking-style helpers with a deadline for request/answer exchanges, and an outgoing queue
// for poll loops. Callers ignore SIGPIPE: a closed peer is an EPIPE error here.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "agent/protocol.h"
#include "base/result.h"

namespace ember::agent {

// A point in time after which a wait gives up; `never()` waits forever.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  [[nodiscard]] static Deadline never() { return Deadline(std::nullopt); }
  [[nodiscard]] static Deadline after(std::chrono::milliseconds d) { return Deadline(Clock::now() + d); }
  [[nodiscard]] static Deadline at(Clock::time_point t) { return Deadline(t); }

  [[nodiscard]] bool expired() const { return when_ && Clock::now() >= *when_; }
  // For poll(): -1 for never, else the milliseconds left rounded up (0 once expired).
  [[nodiscard]] int poll_timeout_ms() const;
  // The earlier of the two.
  [[nodiscard]] Deadline min(const Deadline& other) const;
  [[nodiscard]] std::optional<Clock::time_point> when() const { return when_; }

 private:
  explicit Deadline(std::optional<Clock::time_point> when) : when_(when) {}
  std::optional<Clock::time_point> when_;
};

// Waits until `fd` has one of `events` (POLLIN/POLLOUT), or an error/hangup. `wake_fd`, when
// not -1, ends the wait early with an error once it becomes readable (a signal's self-pipe).
[[nodiscard]] Result<void> wait_fd(int fd, short events, const Deadline& deadline, int wake_fd = -1);

// Writes every byte, waiting (poll) whenever a non-blocking fd is full.
[[nodiscard]] Result<void> write_all(int fd, std::span<const uint8_t> bytes, const Deadline& deadline,
                                     int wake_fd = -1);
[[nodiscard]] Result<void> send_frame(int fd, FrameType type, std::span<const uint8_t> payload,
                                      const Deadline& deadline, int wake_fd = -1);

// Reads until `reader` holds a whole frame and returns it. nullopt when the stream ends cleanly
// between frames; an error when it ends inside one, at the deadline, or on a bad header.
[[nodiscard]] Result<std::optional<Frame>> read_frame(int fd, FrameReader& reader, const Deadline& deadline,
                                                      int wake_fd = -1);

// Frames waiting to go out on a non-blocking fd, for poll loops.
class OutQueue {
 public:
  void push(std::vector<uint8_t> bytes);
  [[nodiscard]] Result<void> push_frame(FrameType type, std::span<const uint8_t> payload);
  [[nodiscard]] bool empty() const { return bytes_ == 0; }
  [[nodiscard]] size_t size() const { return bytes_; }
  // Writes what the fd takes now; stops at EAGAIN. An error for anything else (EPIPE...).
  [[nodiscard]] Result<void> flush(int fd);

 private:
  std::deque<std::vector<uint8_t>> chunks_;
  size_t offset_ = 0;  // into chunks_.front()
  size_t bytes_ = 0;
};

// Sets O_NONBLOCK on `fd`.
[[nodiscard]] Result<void> set_nonblocking(int fd);

}  // namespace ember::agent
