// Errors from failed system calls, carrying errno's text.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "base/result.h"

namespace ember {

// Call right after the failing syscall: reads errno.
[[nodiscard]] inline Error errno_error(const std::string& what) {
  return Error{what + ": " + std::strerror(errno), ErrorKind::kHost};
}

}  // namespace ember
