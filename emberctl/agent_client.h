// emberctl's side of the agent protocol (agent/protocol.h), over ember's hybrid vsock:
// a Unix socket connection to the vsock's uds_path, "CONNECT 52\n", "OK <port>\n", then frames.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/frame_io.h"
#include "agent/protocol.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember::ctl {

using agent::Deadline;

// Where a command's streams come from and go to, and what ends the wait early.
struct ExecIo {
  int stdin_fd = -1;   // forwarded until EOF; -1: the command gets EOF at once
  int stdout_fd = 1;
  int stderr_fd = 2;
  int wake_fd = -1;    // readable: stop (a signal arrived)
  int vm_exit_fd = -1; // readable: the VM's process ended
};

struct ExecOutcome {
  enum class End {
    kExited,          // code = exit status
    kSignaled,        // code = signal number
    kNotStarted,      // the agent could not start it: start_error
    kConnectionLost,  // the agent or the VM went away: message
    kVmExited,        // ember ended while the command ran
    kTimedOut,
    kInterrupted,
  };
  End end = End::kConnectionLost;
  int code = 0;
  agent::ErrorReport start_error;
  std::string message;
  // Whether the command's stdout ended with a newline (or wrote nothing).
  bool stdout_ends_with_newline = true;
};

class AgentConnection {
 public:
  // Connects to the hybrid vsock at `uds_path` and asks for `port`. Fails when nothing listens
  // there (yet) in the guest: ember then closes the connection instead of answering OK.
  [[nodiscard]] static Result<AgentConnection> connect(const std::string& uds_path, uint32_t port,
                                                       const Deadline& deadline, int wake_fd);

  [[nodiscard]] Result<agent::ReadyReport> ping(const Deadline& deadline);
  [[nodiscard]] Result<void> set_clock(int64_t realtime_ns, const Deadline& deadline);
  // Sends the host file `local` to the guest path `remote` (its permission bits with it).
  [[nodiscard]] Result<void> copy_in(const std::string& local, const std::string& remote, const Deadline& deadline);
  // Fetches the guest file `remote` into the host path `local` (written beside it and renamed
  // into place, so a failure leaves no partial file).
  [[nodiscard]] Result<void> copy_out(const std::string& remote, const std::string& local, const Deadline& deadline);
  // Runs a command, streaming its output to `io` as it comes.
  [[nodiscard]] ExecOutcome exec(const agent::ExecRequest& request, const ExecIo& io, const Deadline& deadline);

 private:
  AgentConnection(UniqueFd fd, int wake_fd) : fd_(std::move(fd)), wake_fd_(wake_fd) {}
  [[nodiscard]] Result<agent::Frame> expect_frame(const Deadline& deadline);
  [[nodiscard]] Result<void> send(agent::FrameType type, std::span<const uint8_t> payload, const Deadline& deadline);

  UniqueFd fd_;
  int wake_fd_ = -1;
  agent::FrameReader reader_;
};

// Connects and pings until the agent answers, retrying every 100 ms while `alive` says the VM
// still runs (it returns an error saying why not otherwise).
[[nodiscard]] Result<AgentConnection> wait_for_agent(const std::string& uds_path, const Deadline& deadline,
                                                     int wake_fd, const std::function<Result<void>()>& alive,
                                                     agent::ReadyReport* ready);

}  // namespace ember::ctl
