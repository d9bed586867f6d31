// What runs in the guest once its agent answers: set the clock, copy files in, run the command
// (its output streamed live), copy files out. Shared by `run` and `pool run`.
#pragma once

#include <string>
#include <vector>

#include "emberctl/agent_client.h"
#include "emberctl/context.h"
#include "emberctl/report.h"
#include "base/result.h"

namespace ember::ctl {

struct CopySpec {
  std::string host;   // a host path
  std::string guest;  // an absolute guest path
};

// --copy-in SRC:DST: host file SRC to guest path DST. Split at the last ':' (host paths may
// hold one; guest paths may not). A DST ending in '/' names a folder: SRC's file name is added.
[[nodiscard]] Result<CopySpec> parse_copy_in(const std::string& arg);
// --copy-out SRC:DST: guest file SRC to host path DST. Split at the first ':'. A DST ending in
// '/' names a folder: SRC's file name is added.
[[nodiscard]] Result<CopySpec> parse_copy_out(const std::string& arg);

struct GuestJob {
  std::vector<CopySpec> copy_in;
  std::vector<CopySpec> copy_out;
  std::vector<std::string> env;  // NAME=value
  std::string workdir;           // "" is "/"
  std::vector<std::string> command;
};

// Checks what can be checked before a VM starts: a command, copy-in sources readable, env
// entries well formed. The exit status for a failure is in `*code`.
[[nodiscard]] Result<void> check_job(const GuestJob& job, int* code);

// Runs `job` on a ready agent. Fills the report's command fields and durations; returns
// emberctl's exit status. The command's stdin is emberctl's, unless that is a terminal (then it
// gets EOF at once: emberctl run is not interactive).
int run_job(AgentConnection& agent, const GuestJob& job, const RunContext& ctx, int vm_exit_fd, RunReport& report);

}  // namespace ember::ctl
