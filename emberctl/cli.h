// emberctl's command line (CLI11): what each subcommand takes, and the dispatch.
#pragma once

#include <string>

#include "emberctl/api_command.h"
#include "emberctl/pool.h"
#include "emberctl/run.h"

namespace ember::ctl {

struct ParsedCommandLine {
  enum class Kind { kExit, kRun, kApi, kPoolCreate, kPoolRun, kPoolList, kPoolRemove };
  Kind kind = Kind::kExit;
  int exit_code = 0;  // for kExit: help/version printed (0) or a usage error (kExitUsage)
  RunOptions run;
  ApiCommandOptions api;
  PoolCreateOptions pool_create;
  PoolRunOptions pool_run;
  std::string pools_root;  // pool ls / rm
  std::string pool_name;   // pool rm
  bool json = false;       // pool ls
};

// Parses argv (printing help, the version or a usage error itself). Pool folders default to
// default_pools_root() of the environment.
[[nodiscard]] ParsedCommandLine parse_command_line(int argc, const char* const* argv);

// Parses and runs; the process exit status.
int emberctl_main(int argc, const char* const* argv);

}  // namespace ember::ctl
