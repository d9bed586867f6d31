// Starting the command of an EXEC request: its own session (so that signals reach everything it
// starts), pipes for stdin/stdout/stderr, a pidfd to learn when it ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <variant>
#include <vector>

#include "agent/protocol.h"
#include "base/unique_fd.h"

namespace ember::agent {

struct RunningCommand {
  pid_t pid = -1;        // also its process group and session id
  UniqueFd pidfd;        // readable once the process has ended
  UniqueFd stdin_pipe;   // write end, non-blocking
  UniqueFd stdout_pipe;  // read end, non-blocking
  UniqueFd stderr_pipe;  // read end, non-blocking
};

// The environment a command gets: `base` ("NAME=value" each), with `overrides` replacing the
// entries of the same name and adding the others, in order.
[[nodiscard]] std::vector<std::string> merge_environment(const std::vector<std::string>& base,
                                                         const std::vector<std::string>& overrides);

// Where `name` is found along `path_list` (a PATH value); ENOENT (or EACCES when only
// non-executable matches exist) in `error_number` otherwise. A name with a '/' is used as is.
[[nodiscard]] std::string find_program(const std::string& name, const std::string& path_list, int* error_number);

// Starts `request` with `base_env` under it. On failure: the errno (ENOENT for a command that is
// not there) and a message naming the command.
[[nodiscard]] std::variant<RunningCommand, ErrorReport> spawn_command(const ExecRequest& request,
                                                                      const std::vector<std::string>& base_env);

}  // namespace ember::agent
