#include "emberctl/agent_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/errno_error.h"

namespace ember::ctl {

using agent::Frame;
using agent::FrameType;

namespace {

constexpr size_t kMaxHandshakeLine = 64;
// Stdin read ahead of what the agent has taken: beyond this, emberctl stops reading stdin.
constexpr size_t kStdinQueueLimit = 1 << 20;
const std::string kProtocolMismatch = "the guest agent speaks protocol ";

Error unexpected(const Frame& f, const char* during) {
  return make_error("unexpected " + agent::frame_type_name(f.type) + " frame from the agent during " + during);
}

}  // namespace

Result<AgentConnection> AgentConnection::connect(const std::string& uds_path, uint32_t port,
                                                 const Deadline& deadline, int wake_fd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (uds_path.size() >= sizeof addr.sun_path) return make_error("vsock socket path too long: " + uds_path);
  std::memcpy(addr.sun_path, uds_path.c_str(), uds_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error("connecting to " + uds_path);
  TRY(agent::set_nonblocking(fd.get()));
  const std::string request = "CONNECT " + std::to_string(port) + "\n";
  TRY(agent::write_all(fd.get(), std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size()),
                       deadline, wake_fd));
  // Byte by byte: whatever follows the newline belongs to the agent's stream.
  std::string line;
  while (line.empty() || line.back() != '\n') {
    if (line.size() >= kMaxHandshakeLine) return make_error("vsock handshake: answer too long: '" + line + "'");
    char c;
    const ssize_t n = ::read(fd.get(), &c, 1);
    if (n == 1) {
      line.push_back(c);
      continue;
    }
    if (n == 0) return make_error("vsock handshake: connection closed (nothing listens on port " + std::to_string(port) + " yet)");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_error("vsock handshake");
    TRY(agent::wait_fd(fd.get(), POLLIN, deadline, wake_fd));
  }
  if (line.rfind("OK ", 0) != 0) return make_error("vsock handshake: expected 'OK <port>', got '" + line + "'");
  return AgentConnection(std::move(fd), wake_fd);
}

Result<void> AgentConnection::send(FrameType type, std::span<const uint8_t> payload, const Deadline& deadline) {
  return agent::send_frame(fd_.get(), type, payload, deadline, wake_fd_);
}

Result<Frame> AgentConnection::expect_frame(const Deadline& deadline) {
  ASSIGN_OR_RETURN(std::optional<Frame> frame, agent::read_frame(fd_.get(), reader_, deadline, wake_fd_));
  if (!frame) return make_error("the agent closed the connection");
  return std::move(*frame);
}

Result<agent::ReadyReport> AgentConnection::ping(const Deadline& deadline) {
  TRY(send(FrameType::kPing, {}, deadline));
  ASSIGN_OR_RETURN(Frame f, expect_frame(deadline));
  if (!f.is(FrameType::kReady)) return unexpected(f, "PING");
  ASSIGN_OR_RETURN(agent::ReadyReport ready, agent::decode_ready(f.payload));
  if (ready.protocol_version != agent::kProtocolVersion)
    return make_error(kProtocolMismatch + std::to_string(ready.protocol_version) + ", emberctl " +
                      std::to_string(agent::kProtocolVersion) + ": rebuild the guest image");
  return ready;
}

Result<void> AgentConnection::set_clock(int64_t realtime_ns, const Deadline& deadline) {
  TRY(send(FrameType::kSetClock, agent::encode_set_clock({realtime_ns}), deadline));
  ASSIGN_OR_RETURN(Frame f, expect_frame(deadline));
  if (f.is(FrameType::kOk)) return {};
  if (f.is(FrameType::kError)) {
    ASSIGN_OR_RETURN(agent::ErrorReport e, agent::decode_error(f.payload));
    return make_error(e.message);
  }
  return unexpected(f, "SET_CLOCK");
}

Result<void> AgentConnection::copy_in(const std::string& local, const std::string& remote, const Deadline& deadline) {
  UniqueFd file(::open(local.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return errno_error(local);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return errno_error(local);
  if (!S_ISREG(st.st_mode)) return make_error(local + ": not a regular file");
  TRY(send(FrameType::kCopyIn, agent::encode_copy_in({remote, static_cast<uint32_t>(st.st_mode & 07777)}), deadline));
  std::vector<uint8_t> buf(agent::kDataChunk);
  for (;;) {
    const ssize_t n = ::read(file.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + local);
    if (n == 0) break;
    TRY(send(FrameType::kCopyData, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), deadline));
  }
  TRY(send(FrameType::kCopyEnd, {}, deadline));
  ASSIGN_OR_RETURN(Frame f, expect_frame(deadline));
  if (f.is(FrameType::kOk)) return {};
  if (f.is(FrameType::kError)) {
    ASSIGN_OR_RETURN(agent::ErrorReport e, agent::decode_error(f.payload));
    return make_error("in the guest: " + e.message);
  }
  return unexpected(f, "COPY_IN");
}

Result<void> AgentConnection::copy_out(const std::string& remote, const std::string& local, const Deadline& deadline) {
  TRY(send(FrameType::kCopyOut, agent::encode_copy_out({remote}), deadline));
  std::string temp = local + ".emberctl-XXXXXX";
  UniqueFd file(::mkostemp(temp.data(), O_CLOEXEC));
  if (!file.valid()) return errno_error("creating " + local);
  uint64_t written = 0;
  auto result = [&]() -> Result<void> {
    for (;;) {
      ASSIGN_OR_RETURN(Frame f, expect_frame(deadline));
      if (f.is(FrameType::kData)) {
        TRY(agent::write_all(file.get(), f.payload, deadline));
        written += f.payload.size();
        continue;
      }
      if (f.is(FrameType::kError)) {
        ASSIGN_OR_RETURN(agent::ErrorReport e, agent::decode_error(f.payload));
        return make_error("in the guest: " + e.message);
      }
      if (!f.is(FrameType::kEnd)) return unexpected(f, "COPY_OUT");
      ASSIGN_OR_RETURN(agent::CopyOutEnd end, agent::decode_copy_out_end(f.payload));
      if (end.size != written)
        return make_error("the agent announced " + std::to_string(end.size) + " bytes and sent " + std::to_string(written));
      if (::fchmod(file.get(), end.mode) != 0) return errno_error("chmod " + local);
      if (::close(file.release()) != 0) return errno_error("writing " + local);
      if (::rename(temp.c_str(), local.c_str()) != 0) return errno_error("renaming into " + local);
      return {};
    }
  }();
  if (!result) ::unlink(temp.c_str());
  return result;
}

ExecOutcome AgentConnection::exec(const agent::ExecRequest& request, const ExecIo& io, const Deadline& deadline) {
  ExecOutcome outcome;
  auto lost = [&outcome](ExecOutcome::End end, std::string message) {
    outcome.end = end;
    outcome.message = std::move(message);
    return outcome;
  };
  agent::OutQueue out;
  if (auto r = out.push_frame(FrameType::kExec, agent::encode_exec(request)); !r) {
    outcome.end = ExecOutcome::End::kNotStarted;
    outcome.start_error = {E2BIG, r.error().message};
    return outcome;
  }
  bool stdin_open = io.stdin_fd >= 0;
  if (!stdin_open) (void)out.push_frame(FrameType::kStdinEof, {});
  bool stdout_ok = true, stderr_ok = true;
  bool any_stdout = false;
  char last_stdout = '\n';

  uint8_t buf[agent::kDataChunk];
  for (;;) {
    enum { kConn, kStdin, kWake, kVm, kCount };
    pollfd fds[kCount] = {};
    for (auto& p : fds) p.fd = -1;
    fds[kConn] = {fd_.get(), static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0};
    if (stdin_open && out.size() < kStdinQueueLimit) fds[kStdin] = {io.stdin_fd, POLLIN, 0};
    if (io.wake_fd >= 0) fds[kWake] = {io.wake_fd, POLLIN, 0};
    if (io.vm_exit_fd >= 0) fds[kVm] = {io.vm_exit_fd, POLLIN, 0};
    const int n = ::poll(fds, kCount, deadline.poll_timeout_ms());
    if (n < 0 && errno != EINTR) return lost(ExecOutcome::End::kConnectionLost, std::string("poll: ") + std::strerror(errno));
    if (fds[kWake].revents != 0) return lost(ExecOutcome::End::kInterrupted, "interrupted");
    if (n <= 0) {
      if (deadline.expired()) return lost(ExecOutcome::End::kTimedOut, "the command was still running");
      continue;
    }

    if ((fds[kConn].revents & POLLOUT) != 0) {
      if (auto r = out.flush(fd_.get()); !r)
        return lost(ExecOutcome::End::kConnectionLost, "sending to the agent: " + r.error().message);
    }
    if ((fds[kConn].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t got = ::read(fd_.get(), buf, sizeof buf);
      if (got < 0 && errno != EINTR && errno != EAGAIN)
        return lost(ExecOutcome::End::kConnectionLost, std::string("reading from the agent: ") + std::strerror(errno));
      if (got == 0) {
        if (io.vm_exit_fd >= 0) {
          pollfd vm{io.vm_exit_fd, POLLIN, 0};
          // ember closes every vsock connection as it exits: give that a moment to show.
          if (::poll(&vm, 1, 1000) > 0) return lost(ExecOutcome::End::kVmExited, "the VM stopped while the command ran");
        }
        return lost(ExecOutcome::End::kConnectionLost, "the agent closed the connection before the command ended");
      }
      if (got > 0) reader_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(got)));
      for (;;) {
        auto next = reader_.next();
        if (!next) return lost(ExecOutcome::End::kConnectionLost, "from the agent: " + next.error().message);
        if (!next->has_value()) break;
        const Frame& f = **next;
        if (f.is(FrameType::kStdout) || f.is(FrameType::kStderr)) {
          const bool is_out = f.is(FrameType::kStdout);
          bool& ok = is_out ? stdout_ok : stderr_ok;
          if (is_out && !f.payload.empty()) {
            any_stdout = true;
            last_stdout = static_cast<char>(f.payload.back());
          }
          // A closed stdout (emberctl run ... | head) stops the copying, not the command.
          if (ok) ok = agent::write_all(is_out ? io.stdout_fd : io.stderr_fd, f.payload, Deadline::never(), io.wake_fd).ok();
          continue;
        }
        if (f.is(FrameType::kExit)) {
          auto exit = agent::decode_exit(f.payload);
          if (!exit) return lost(ExecOutcome::End::kConnectionLost, "from the agent: " + exit.error().message);
          outcome.end = exit->signaled ? ExecOutcome::End::kSignaled : ExecOutcome::End::kExited;
          outcome.code = exit->code;
          outcome.stdout_ends_with_newline = !any_stdout || last_stdout == '\n';
          return outcome;
        }
        if (f.is(FrameType::kError)) {
          auto e = agent::decode_error(f.payload);
          if (!e) return lost(ExecOutcome::End::kConnectionLost, "from the agent: " + e.error().message);
          if (e->error_number == EPROTO) return lost(ExecOutcome::End::kConnectionLost, "the agent refused: " + e->message);
          outcome.end = ExecOutcome::End::kNotStarted;
          outcome.start_error = *e;
          return outcome;
        }
        return lost(ExecOutcome::End::kConnectionLost, unexpected(f, "EXEC").message);
      }
    }
    if (fds[kStdin].revents != 0) {
      const ssize_t got = ::read(io.stdin_fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        stdin_open = false;  // EOF, or an unreadable stdin taken as one
        (void)out.push_frame(FrameType::kStdinEof, {});
      } else {
        (void)out.push_frame(FrameType::kStdin, std::span<const uint8_t>(buf, static_cast<size_t>(got)));
      }
    }
    if (fds[kVm].revents != 0) {
      // Whatever the agent managed to send is read above; the VM is gone now.
      return lost(ExecOutcome::End::kVmExited, "the VM stopped while the command ran");
    }
  }
}

Result<AgentConnection> wait_for_agent(const std::string& uds_path, const Deadline& deadline, int wake_fd,
                                       const std::function<Result<void>()>& alive, agent::ReadyReport* ready) {
  std::string last = "no answer yet";
  for (;;) {
    TRY(alive());
    if (deadline.expired()) return make_error(last);
    // Each attempt is short: a connection that the guest never answers is dropped by ember
    // after its own connect timeout anyway.
    const Deadline attempt = deadline.min(Deadline::after(std::chrono::seconds(5)));
    auto conn = AgentConnection::connect(uds_path, agent::kAgentVsockPort, attempt, wake_fd);
    if (conn) {
      auto pong = conn->ping(attempt);
      if (pong) {
        if (ready != nullptr) *ready = *pong;
        return std::move(conn).value();
      }
      last = pong.error().message;
      if (last.rfind(kProtocolMismatch, 0) == 0) return pong.error();  // retrying cannot help
    } else {
      last = conn.error().message;
    }
    if (last == "interrupted") return make_error(last);
    const int left = deadline.poll_timeout_ms();
    pollfd p{wake_fd, POLLIN, 0};
    (void)::poll(&p, wake_fd >= 0 ? 1 : 0, left < 0 ? 100 : std::min(100, left));
  }
}

}  // namespace ember::ctl
