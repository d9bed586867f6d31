// The ember process behind one emberctl VM: started with its API socket in emberctl's scratch
// folder, its console (stdout) and log (stderr) in files there, in a process group of its own
// (a Ctrl-C at the terminal reaches emberctl, which stops ember in order), and killed by the
// kernel if emberctl dies (PR_SET_PDEATHSIG). Destruction stops it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember::ctl {

struct EmberLaunch {
  std::string binary;       // path of ember
  std::string api_socket;   // --api-sock
  std::string console_log;  // the guest console (ember's stdout)
  std::string ember_log;    // ember's stderr
  std::string id;           // --id
};

// How long ember gets after SIGTERM before SIGKILL.
inline constexpr std::chrono::milliseconds kStopGrace{3000};

class EmberProcess {
 public:
  [[nodiscard]] static Result<EmberProcess> spawn(const EmberLaunch& launch);
  EmberProcess(EmberProcess&&) noexcept;
  EmberProcess& operator=(EmberProcess&&) = delete;
  ~EmberProcess();

  // Readable once ember has exited (a pidfd).
  [[nodiscard]] int exit_fd() const { return pidfd_.get(); }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // The exit status if ember has ended (reaping it), nullopt while it runs. -N: killed by signal N.
  std::optional<int> poll_exit();
  // SIGTERM (ember's orderly stop: vCPUs joined, sockets removed), then SIGKILL after `grace`.
  // Returns the exit status as poll_exit() does.
  int stop(std::chrono::milliseconds grace = kStopGrace);
  // "exit status 2", "killed by signal 9".
  [[nodiscard]] static std::string describe(int status);

 private:
  EmberProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
};

// The last `lines` lines of a text file (for error reports), "" when unreadable.
[[nodiscard]] std::string tail_of_file(const std::string& path, size_t lines);

}  // namespace ember::ctl
