// The process state the jailer hands over: no inherited file descriptors beyond stdio, no
// environment, default signal handling, and (--daemonize) a new session with stdio on /dev/null.
#pragma once

#include "base/result.h"

namespace ember::jailer {

// Closes every file descriptor above 2 (close_range(2), else /proc/self/fd one by one).
[[nodiscard]] Result<void> close_inherited_fds();

// Removes every environment variable.
void clear_environment();

// Every signal back to SIG_DFL and none blocked: ignored signals survive execve(), and the jailed
// program should start as if from a clean parent.
void reset_signals();

// setsid(), then stdin, stdout and stderr onto `dev_null` (opened before the jail was entered:
// the jail has no /dev/null).
[[nodiscard]] Result<void> daemonize(int dev_null);

}  // namespace ember::jailer
