#include "agent/frame_io.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_error.h"

namespace ember::agent {

int Deadline::poll_timeout_ms() const {
  if (!when_) return -1;
  const auto left = *when_ - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
}

Deadline Deadline::min(const Deadline& other) const {
  if (!when_) return other;
  if (!other.when_) return *this;
  return Deadline(std::min(*when_, *other.when_));
}

Result<void> wait_fd(int fd, short events, const Deadline& deadline, int wake_fd) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, deadline.poll_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }
    if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0) return make_error("interrupted");
    if (fds[0].revents != 0) return {};  // ready, or an error/hangup the next call reports
    if (deadline.expired()) return make_error("timed out");
  }
}

Result<void> write_all(int fd, std::span<const uint8_t> bytes, const Deadline& deadline, int wake_fd) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      TRY(wait_fd(fd, POLLOUT, deadline, wake_fd));
      continue;
    }
    if (n == 0) return make_error("write: no progress");
    return errno_error("write");
  }
  return {};
}

Result<void> send_frame(int fd, FrameType type, std::span<const uint8_t> payload, const Deadline& deadline,
                        int wake_fd) {
  ASSIGN_OR_RETURN(auto bytes, encode_frame(type, payload));
  return write_all(fd, bytes, deadline, wake_fd);
}

Result<std::optional<Frame>> read_frame(int fd, FrameReader& reader, const Deadline& deadline, int wake_fd) {
  uint8_t buf[kDataChunk];
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<Frame> frame, reader.next());
    if (frame) return frame;
    // Wait first, so that a blocking fd honours the deadline too.
    TRY(wait_fd(fd, POLLIN, deadline, wake_fd));
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return errno_error("read");
    }
    if (n == 0) {
      if (reader.buffered() == 0) return std::optional<Frame>();
      return make_error("the stream ended inside a frame (" + std::to_string(reader.buffered()) + " bytes of it)");
    }
    reader.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }
}

void OutQueue::push(std::vector<uint8_t> bytes) {
  if (bytes.empty()) return;
  bytes_ += bytes.size();
  chunks_.push_back(std::move(bytes));
}

Result<void> OutQueue::push_frame(FrameType type, std::span<const uint8_t> payload) {
  ASSIGN_OR_RETURN(auto bytes, encode_frame(type, payload));
  push(std::move(bytes));
  return {};
}

Result<void> OutQueue::flush(int fd) {
  while (!chunks_.empty()) {
    const auto& front = chunks_.front();
    const ssize_t n = ::write(fd, front.data() + offset_, front.size() - offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      return errno_error("write");
    }
    offset_ += static_cast<size_t>(n);
    bytes_ -= static_cast<size_t>(n);
    if (offset_ == front.size()) {
      chunks_.pop_front();
      offset_ = 0;
    }
  }
  return {};
}

Result<void> set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno_error("fcntl(O_NONBLOCK)");
  return {};
}

}  // namespace ember::agent
