// Where metrics lines go: a file or a named pipe, given once by --metrics-path or PUT /metrics.
// The VMM thread writes to it and must never wait on it, so the fd is non-blocking: a FIFO
// whose reader is slow or absent fills up, and then lines are dropped (and counted) rather
// than queued without bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

struct MetricsSinkCounters {
  uint64_t lines_written = 0;
  uint64_t lines_dropped = 0;   // the sink was full (a FIFO nobody reads fast enough)
  uint64_t write_failures = 0;  // any other write error (disk full, reader gone: EPIPE, ...)
};

class MetricsSink {
 public:
  // Opens `path` with O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC (a new file gets
  // mode 0600). A FIFO that has no reader yet cannot be opened write-only without waiting
  // (open fails with ENXIO); it is opened read-write instead, which Linux allows for a FIFO
  // and which never waits: lines then collect in the pipe buffer until a reader comes or the
  // buffer is full. Errors name the path and the reason.
  [[nodiscard]] static Result<MetricsSink> open(const std::string& path);

  // Writes `line` plus a newline. A reader only ever sees whole lines: when the sink takes
  // part of a line (a FIFO with less room than the line), the rest is kept and written before
  // anything else on the next call, and a line that cannot follow it is dropped. Fails,
  // saying why, when the line was dropped (sink full) or the write failed; counts both.
  [[nodiscard]] Result<void> write_line(std::string_view line);

  [[nodiscard]] const MetricsSinkCounters& counters() const { return counters_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int fd() const { return fd_.get(); }
  // Bytes of a cut-short line still waiting to be written.
  [[nodiscard]] size_t pending_bytes() const { return pending_.size(); }

 private:
  MetricsSink(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  // Writes as much of `data` as the fd takes now: the byte count, or -errno for an error
  // other than "full" (EAGAIN).
  int64_t write_now(std::string_view data);
  Error failed(int err);

  UniqueFd fd_;
  std::string path_;
  std::string pending_;
  MetricsSinkCounters counters_;
};

}  // namespace ember
