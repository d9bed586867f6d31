// Host-side Unix stream sockets of the hybrid vsock backend. Every fd is non-blocking and
// close-on-exec.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember::vsock {

// Whether `path` fits in sockaddr_un.sun_path with its terminating NUL.
[[nodiscard]] bool fits_unix_path(const std::string& path);

// Binds a listening socket at `path`. Like Firecracker, refuses a path that already exists
// rather than deleting whatever is there.
[[nodiscard]] Result<UniqueFd> listen_unix(const std::string& path, int backlog);

// Accepts one pending connection; an invalid fd when none is pending.
[[nodiscard]] Result<UniqueFd> accept_unix(int listener);

// Connects to `path` without blocking (a Unix stream connect completes at once or fails;
// a full backlog fails with EAGAIN).
[[nodiscard]] Result<UniqueFd> connect_unix(const std::string& path);

}  // namespace ember::vsock
