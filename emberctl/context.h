// What every step of a run shares: the Ctrl-C/SIGTERM watch, the overall deadline (--timeout),
// progress lines, and how a failure becomes an exit status.
#pragma once

#include <chrono>
#include <string>

#include "emberctl/interrupt.h"
#include "agent/frame_io.h"

namespace ember::ctl {

using agent::Deadline;

class RunContext {
 public:
  // `timeout_s` 0: no overall deadline. Progress lines go to stderr only when it is a terminal.
  RunContext(const InterruptWatch& watch, double timeout_s);

  [[nodiscard]] int wake_fd() const { return watch_.fd(); }
  [[nodiscard]] const Deadline& overall() const { return overall_; }
  // The overall deadline, or `limit` from now if that comes first.
  [[nodiscard]] Deadline within(std::chrono::milliseconds limit) const {
    return overall_.min(Deadline::after(limit));
  }
  [[nodiscard]] double elapsed_s() const;
  void progress(const std::string& line) const;

  // A failed step's exit status: 128+N when signal N arrived, kExitTimeout when --timeout
  // passed (whatever the step reported, as that is why it failed), else `code`. `message` is
  // rewritten to match.
  [[nodiscard]] int fail(int code, std::string* message) const;
  [[nodiscard]] bool timed_out() const { return overall_.expired() && watch_.signal() == 0; }

 private:
  const InterruptWatch& watch_;
  Deadline overall_;
  double timeout_s_;
  bool progress_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ember::ctl
