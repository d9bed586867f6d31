#include "vmm/metrics/metrics_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ember {

Result<MetricsSink> MetricsSink::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENXIO) {
    // ENXIO is also what a Unix socket gives: only a FIFO gets the read-write retry.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    } else {
      errno = ENXIO;
    }
  }
  if (fd < 0) return make_error("cannot open the metrics path " + path + ": " + std::strerror(errno));
  return MetricsSink(UniqueFd(fd), path);
}

int64_t MetricsSink::write_now(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      return -errno;
    }
  }
  return static_cast<int64_t>(done);
}

Error MetricsSink::failed(int err) {
  ++counters_.write_failures;
  return make_error("writing to the metrics path " + path_ + " failed: " + std::strerror(err));
}

Result<void> MetricsSink::write_line(std::string_view line) {
  if (!pending_.empty()) {
    const int64_t n = write_now(pending_);
    if (n < 0) {
      pending_.clear();  // the sink is broken: what is left of that line is lost
      return failed(static_cast<int>(-n));
    }
    pending_.erase(0, static_cast<size_t>(n));
    if (!pending_.empty()) {
      ++counters_.lines_dropped;
      return make_error("the metrics path " + path_ + " is full (is anyone reading it?): line dropped");
    }
  }
  // One write() for the whole line: a FIFO takes up to PIPE_BUF bytes atomically, so readers
  // never see lines interleaved, and a short line is never split.
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  const int64_t n = write_now(buffer);
  if (n < 0) return failed(static_cast<int>(-n));
  if (n == 0) {
    ++counters_.lines_dropped;
    return make_error("the metrics path " + path_ + " is full (is anyone reading it?): line dropped");
  }
  if (static_cast<size_t>(n) < buffer.size()) pending_ = buffer.substr(static_cast<size_t>(n));
  ++counters_.lines_written;
  return {};
}

}  // namespace ember
