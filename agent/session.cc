#include "agent/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <variant>

#include "agent/command.h"
#include "agent/frame_io.h"
#include "agent/protocol.h"
#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::agent {
namespace {

// Output waiting for the host beyond this stops reading the command's pipes and the file being
// copied out, so a host that reads slowly slows the command down instead of filling memory.
constexpr size_t kOutHighWater = 256 * 1024;
// Beyond these, the connection is not read until they drain: stdin the command has not taken,
// and answers the host has not taken (a host sending requests without reading).
constexpr size_t kStdinHighWater = 1 << 20;
constexpr size_t kOutHardLimit = 4 << 20;
// After the command ended: at most this much more output per pipe, from processes it left
// behind that still hold the pipe (they could write forever).
constexpr size_t kDrainLimit = 1 << 20;

Error protocol_error(const std::string& message) { return make_error(message); }

// mkdir -p of the directory part of `path` (absolute). 0, or the errno and `*failed` the
// directory that could not be made.
int make_parent_dirs(const std::string& path, std::string* failed) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      const int err = errno;
      *failed = dir;
      return err;
    }
  }
  return 0;
}

class Session {
 public:
  Session(int fd, const SessionOptions& options) : fd_(fd), options_(options) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    kill_command();
    abandon_copy_in();
  }

  Result<void> run();

 private:
  struct CopyIn {
    UniqueFd file;
    std::string temp_path;
    std::string path;
    uint32_t mode = 0;
    std::optional<ErrorReport> error;  // the first failure; the data is still consumed
  };
  struct CopyOut {
    UniqueFd file;
    uint32_t mode = 0;
    uint64_t sent = 0;
  };

  [[nodiscard]] bool busy() const { return cmd_.has_value() || copy_in_.has_value() || copy_out_.has_value(); }
  [[nodiscard]] bool want_input() const {
    return !peer_closed_ && stdin_buffer_.size() - stdin_offset_ < kStdinHighWater && out_.size() < kOutHardLimit;
  }

  Result<void> read_connection();
  Result<void> handle(const Frame& frame);
  Result<void> start_exec(const Frame& frame);
  Result<void> start_copy_in(const Frame& frame);
  Result<void> copy_in_data(const Frame& frame);
  Result<void> finish_copy_in();
  Result<void> start_copy_out(const Frame& frame);
  void step_copy_out();
  Result<void> set_clock(const Frame& frame);

  void read_pipe(UniqueFd& pipe, FrameType type, size_t limit);
  void write_stdin();
  void finish_command();
  void kill_command();
  void abandon_copy_in();

  void push(FrameType type, std::span<const uint8_t> payload) {
    // Every payload built here is below kMaxPayload (chunks of kDataChunk, short messages).
    (void)out_.push_frame(type, payload);
  }
  void push_error(int err, const std::string& message) { push(FrameType::kError, encode_error({err, message})); }
  void push_error(const ErrorReport& report) { push(FrameType::kError, encode_error(report)); }

  int fd_;
  const SessionOptions& options_;
  FrameReader reader_;
  OutQueue out_;
  bool peer_closed_ = false;

  std::optional<RunningCommand> cmd_;
  std::string stdin_buffer_;
  size_t stdin_offset_ = 0;
  bool stdin_eof_ = false;

  std::optional<CopyIn> copy_in_;
  std::optional<CopyOut> copy_out_;
};

Result<void> Session::run() {
  TRY(set_nonblocking(fd_));
  for (;;) {
    while (copy_out_ && out_.size() < kOutHighWater) step_copy_out();
    if (peer_closed_) {
      // The host is gone (or done): nothing it asked for can be delivered any more.
      kill_command();
      abandon_copy_in();
      copy_out_.reset();
      (void)out_.flush(fd_);
      return {};
    }

    enum { kConn, kStdout, kStderr, kStdin, kPid, kCount };
    pollfd fds[kCount] = {};
    for (auto& p : fds) p.fd = -1;
    fds[kConn] = {fd_, static_cast<short>((want_input() ? POLLIN : 0) | (out_.empty() ? 0 : POLLOUT)), 0};
    if (cmd_) {
      const bool room = out_.size() < kOutHighWater;
      if (cmd_->stdout_pipe.valid() && room) fds[kStdout] = {cmd_->stdout_pipe.get(), POLLIN, 0};
      if (cmd_->stderr_pipe.valid() && room) fds[kStderr] = {cmd_->stderr_pipe.get(), POLLIN, 0};
      if (cmd_->stdin_pipe.valid() && stdin_offset_ < stdin_buffer_.size()) fds[kStdin] = {cmd_->stdin_pipe.get(), POLLOUT, 0};
      fds[kPid] = {cmd_->pidfd.get(), POLLIN, 0};
    }
    if (::poll(fds, kCount, -1) < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }

    const short conn = fds[kConn].revents;
    if ((conn & POLLOUT) != 0) {
      auto flushed = out_.flush(fd_);
      if (!flushed) return with_context("sending to the host", flushed.error());
    }
    if ((conn & POLLIN) != 0 || ((conn & (POLLHUP | POLLERR)) != 0 && want_input())) {
      TRY(read_connection());
    } else if ((conn & (POLLHUP | POLLERR)) != 0) {
      peer_closed_ = true;  // not reading now, but the host has hung up entirely
    }
    if (cmd_ && fds[kStdin].revents != 0) write_stdin();
    if (cmd_ && fds[kStdout].revents != 0) read_pipe(cmd_->stdout_pipe, FrameType::kStdout, kDataChunk);
    if (cmd_ && fds[kStderr].revents != 0) read_pipe(cmd_->stderr_pipe, FrameType::kStderr, kDataChunk);
    if (cmd_ && fds[kPid].revents != 0) finish_command();
  }
}

Result<void> Session::read_connection() {
  uint8_t buf[kDataChunk];
  const ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return {};
    if (errno == ECONNRESET) {
      peer_closed_ = true;
      return {};
    }
    return errno_error("reading from the host");
  }
  if (n == 0) {
    peer_closed_ = true;
    if (reader_.buffered() != 0)
      return make_error("the host closed the connection inside a frame (" + std::to_string(reader_.buffered()) +
                        " bytes of it)");
    return {};
  }
  reader_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  for (;;) {
    auto frame = reader_.next();
    Result<void> handled = frame.ok() ? (frame->has_value() ? handle(**frame) : Result<void>())
                                      : Result<void>(frame.error());
    if (!handled) {
      // The stream cannot be trusted any more: say why, then hang up.
      push_error(EPROTO, handled.error().message);
      for (int i = 0; i < 100 && !out_.empty(); ++i) {
        if (!out_.flush(fd_)) break;
        if (!out_.empty()) (void)wait_fd(fd_, POLLOUT, Deadline::after(std::chrono::milliseconds(10)));
      }
      ::shutdown(fd_, SHUT_RDWR);
      return handled.error();
    }
    if (!frame->has_value()) return {};
  }
}

Result<void> Session::handle(const Frame& frame) {
  switch (static_cast<FrameType>(frame.type)) {
    case FrameType::kPing:
      TRY(decode_empty(frame));
      push(FrameType::kReady, encode_ready({kProtocolVersion, options_.agent_version}));
      return {};
    case FrameType::kSetClock: return set_clock(frame);
    case FrameType::kExec: return start_exec(frame);
    case FrameType::kStdin:
      // Stdin for a command that already ended (or never started) is dropped: the host may
      // send it before it learns that.
      if (cmd_ && cmd_->stdin_pipe.valid() && !stdin_eof_) stdin_buffer_.append(frame.payload.begin(), frame.payload.end());
      return {};
    case FrameType::kStdinEof:
      TRY(decode_empty(frame));
      if (cmd_) {
        stdin_eof_ = true;
        if (stdin_offset_ == stdin_buffer_.size()) cmd_->stdin_pipe.reset();
      }
      return {};
    case FrameType::kSignal: {
      ASSIGN_OR_RETURN(SignalRequest req, decode_signal(frame.payload));
      if (cmd_) ::kill(-cmd_->pid, req.signal);
      return {};
    }
    case FrameType::kCopyIn: return start_copy_in(frame);
    case FrameType::kCopyData: return copy_in_data(frame);
    case FrameType::kCopyEnd:
      TRY(decode_empty(frame));
      return finish_copy_in();
    case FrameType::kCopyOut: return start_copy_out(frame);
    default: break;
  }
  return protocol_error("unexpected " + frame_type_name(frame.type) + " frame from the host");
}

Result<void> Session::set_clock(const Frame& frame) {
  ASSIGN_OR_RETURN(SetClockRequest req, decode_set_clock(frame.payload));
  auto r = options_.set_clock ? options_.set_clock(req.realtime_ns) : Result<void>(make_error("no clock"));
  if (r) {
    push(FrameType::kOk, {});
  } else {
    push_error(0, "SET_CLOCK: " + r.error().message);
  }
  return {};
}

Result<void> Session::start_exec(const Frame& frame) {
  if (busy()) return protocol_error("EXEC while another request is in progress");
  ASSIGN_OR_RETURN(ExecRequest req, decode_exec(frame.payload));
  auto spawned = spawn_command(req, options_.base_env);
  if (auto* failure = std::get_if<ErrorReport>(&spawned)) {
    push_error(*failure);
    return {};
  }
  cmd_ = std::move(std::get<RunningCommand>(spawned));
  stdin_buffer_.clear();
  stdin_offset_ = 0;
  stdin_eof_ = false;
  return {};
}

void Session::write_stdin() {
  while (stdin_offset_ < stdin_buffer_.size()) {
    const ssize_t n = ::write(cmd_->stdin_pipe.get(), stdin_buffer_.data() + stdin_offset_,
                              stdin_buffer_.size() - stdin_offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      // The command closed its stdin (EPIPE): what is left, and anything more, goes nowhere.
      cmd_->stdin_pipe.reset();
      stdin_buffer_.clear();
      stdin_offset_ = 0;
      return;
    }
    stdin_offset_ += static_cast<size_t>(n);
  }
  stdin_buffer_.clear();
  stdin_offset_ = 0;
  if (stdin_eof_) cmd_->stdin_pipe.reset();
}

void Session::read_pipe(UniqueFd& pipe, FrameType type, size_t limit) {
  uint8_t buf[kDataChunk];
  const ssize_t n = ::read(pipe.get(), buf, std::min(limit, sizeof buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    pipe.reset();  // EOF: every writer is gone
    return;
  }
  push(type, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
}

void Session::finish_command() {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(cmd_->pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  // What the command wrote before it ended is in the pipes now: send it before EXIT.
  for (auto* pipe : {&cmd_->stdout_pipe, &cmd_->stderr_pipe}) {
    const FrameType type = pipe == &cmd_->stdout_pipe ? FrameType::kStdout : FrameType::kStderr;
    size_t drained = 0;
    while (pipe->valid() && drained < kDrainLimit) {
      const size_t before = out_.size();
      read_pipe(*pipe, type, kDataChunk);
      if (out_.size() == before) break;  // empty for now, or EOF
      drained += out_.size() - before;
    }
  }
  ExitReport report;
  if (r < 0) {
    report = {false, 255};  // cannot happen with SIGCHLD at its default; say "failed" rather than hang
  } else if (WIFSIGNALED(status)) {
    report = {true, WTERMSIG(status)};
  } else {
    report = {false, WEXITSTATUS(status)};
  }
  push(FrameType::kExit, encode_exit(report));
  // Processes the command left behind keep running; closing our pipe ends make their writes
  // fail instead of blocking.
  cmd_.reset();
  stdin_buffer_.clear();
  stdin_offset_ = 0;
}

void Session::kill_command() {
  if (!cmd_) return;
  ::kill(-cmd_->pid, SIGKILL);
  while (::waitpid(cmd_->pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  cmd_.reset();
}

Result<void> Session::start_copy_in(const Frame& frame) {
  if (busy()) return protocol_error("COPY_IN while another request is in progress");
  ASSIGN_OR_RETURN(CopyInRequest req, decode_copy_in(frame.payload));
  CopyIn copy;
  copy.path = req.path;
  copy.mode = req.mode;
  std::string failed_dir;
  if (const int err = make_parent_dirs(req.path, &failed_dir); err != 0) {
    copy.error = ErrorReport{err, "COPY_IN " + req.path + ": creating " + failed_dir + ": " + std::strerror(err)};
  } else {
    // Written beside the target and renamed over it at the end: the file appears whole or not at all.
    std::string temp = req.path + ".ember-agent-XXXXXX";
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      copy.error = ErrorReport{err, "COPY_IN " + req.path + ": " + std::strerror(err)};
    } else {
      copy.file.reset(fd);
      copy.temp_path = temp;
    }
  }
  copy_in_ = std::move(copy);
  return {};
}

Result<void> Session::copy_in_data(const Frame& frame) {
  if (!copy_in_) return protocol_error("COPY_DATA outside a COPY_IN");
  if (copy_in_->error) return {};
  auto written = write_all(copy_in_->file.get(), frame.payload, Deadline::never());
  if (!written) copy_in_->error = ErrorReport{EIO, "COPY_IN " + copy_in_->path + ": " + written.error().message};
  return {};
}

Result<void> Session::finish_copy_in() {
  if (!copy_in_) return protocol_error("COPY_END outside a COPY_IN");
  CopyIn& c = *copy_in_;
  auto fail = [&c](const char* step) {
    const int err = errno;
    c.error = ErrorReport{err, "COPY_IN " + c.path + ": " + step + std::strerror(err)};
  };
  if (!c.error && ::fchmod(c.file.get(), c.mode) != 0) fail("chmod: ");
  if (!c.error && ::close(c.file.release()) != 0) fail("close: ");
  if (!c.error && ::rename(c.temp_path.c_str(), c.path.c_str()) != 0) fail("");
  if (c.error) {
    push_error(*c.error);
    abandon_copy_in();
  } else {
    push(FrameType::kOk, {});
    copy_in_.reset();
  }
  return {};
}

void Session::abandon_copy_in() {
  if (!copy_in_) return;
  if (!copy_in_->temp_path.empty()) ::unlink(copy_in_->temp_path.c_str());
  copy_in_.reset();
}

Result<void> Session::start_copy_out(const Frame& frame) {
  if (busy()) return protocol_error("COPY_OUT while another request is in progress");
  ASSIGN_OR_RETURN(CopyOutRequest req, decode_copy_out(frame.payload));
  auto fail = [&](int err) { push_error(err, "COPY_OUT " + req.path + ": " + std::strerror(err)); };
  UniqueFd file(::open(req.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!file.valid()) {
    fail(errno);
    return {};
  }
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) {
    fail(errno);
    return {};
  }
  if (!S_ISREG(st.st_mode)) {
    push_error(S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "COPY_OUT " + req.path + ": not a regular file");
    return {};
  }
  copy_out_ = CopyOut{std::move(file), static_cast<uint32_t>(st.st_mode & 07777), 0};
  return {};
}

void Session::step_copy_out() {
  uint8_t buf[kDataChunk];
  const ssize_t n = ::read(copy_out_->file.get(), buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n < 0) {
    const int err = errno;
    push_error(err, std::string("COPY_OUT: read: ") + std::strerror(err));
    copy_out_.reset();
    return;
  }
  if (n == 0) {
    push(FrameType::kEnd, encode_copy_out_end({copy_out_->mode, copy_out_->sent}));
    copy_out_.reset();
    return;
  }
  copy_out_->sent += static_cast<uint64_t>(n);
  push(FrameType::kData, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
}

}  // namespace

std::vector<std::string> default_base_environment() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=dumb"};
}

Result<void> set_realtime_clock(int64_t realtime_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(realtime_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(realtime_ns % 1'000'000'000);
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) return errno_error("clock_settime");
  return {};
}

Result<void> serve_connection(int fd, const SessionOptions& options) {
  Session session(fd, options);
  return session.run();
}

}  // namespace ember::agent
