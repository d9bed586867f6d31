// One connection of ember-agent: reads requests from the host and answers them, one after
// another, until the host closes the connection. The transport is a plain fd, so that the
// same code serves a vsock connection in the guest and a socketpair in the host's unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember::agent {

struct SessionOptions {
  std::string agent_version;        // sent in READY
  std::vector<std::string> base_env;  // every command's environment before EXEC's own entries
  // Applies SET_CLOCK (clock_settime(CLOCK_REALTIME) in the agent; a fake in tests).
  std::function<Result<void>(int64_t realtime_ns)> set_clock;
};

// The environment commands start from: PATH, HOME=/root and TERM=dumb.
[[nodiscard]] std::vector<std::string> default_base_environment();
// clock_settime(CLOCK_REALTIME, ns).
[[nodiscard]] Result<void> set_realtime_clock(int64_t realtime_ns);

// Serves `fd` (made non-blocking; not closed) until the host closes it. A command still running
// then is killed (SIGKILL to its process group) and reaped. A protocol violation (bad frame,
// oversize frame, a request out of turn) is answered with an ERROR frame, then the connection
// is shut down (shutdown(2), both ways) and the session ends with an error. The caller ignores
// SIGPIPE and leaves SIGCHLD at its default.
[[nodiscard]] Result<void> serve_connection(int fd, const SessionOptions& options);

}  // namespace ember::agent
