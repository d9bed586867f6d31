#include "devices/legacy/output_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/log.h"

namespace ember {

void FdOutputSink::write_bytes(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes = bytes.subspan(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A zero-byte write of a non-empty buffer makes no progress either: treat it as a failure
    // so the loop cannot spin.
    int err = n < 0 ? errno : EIO;
    dropped_.fetch_add(bytes.size(), std::memory_order_relaxed);
    // Warn once: a guest printing to a closed console must not flood the log.
    if (!warned_.exchange(true)) {
      log_warn("console output to fd " + std::to_string(fd_) + " failed (" + std::strerror(err) +
               "); dropping output bytes");
    }
    return;
  }
}

}  // namespace ember
