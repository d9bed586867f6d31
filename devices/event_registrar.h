// How a device asks the VMM thread's event loop to watch its host-side fds (a tap, a Unix
// socket, a completion eventfd). When a watched fd is ready, the VMM calls the device's
// process_event(event_id) on the VMM thread (for virtio devices: through the transport's
// process_device_event(), under its lock). Devices call these methods only on the VMM thread.
#pragma once

#include <cstdint>

#include "base/result.h"

namespace ember {

class EventRegistrar {
 public:
  virtual ~EventRegistrar() = default;
  // `events` are epoll flags (EPOLLIN, EPOLLOUT, ...). Watching an fd twice is an error.
  [[nodiscard]] virtual Result<void> watch(int fd, uint32_t events, uint32_t event_id) = 0;
  [[nodiscard]] virtual Result<void> modify(int fd, uint32_t events, uint32_t event_id) = 0;
  // Stops watching; unknown fds are ignored. Call it before closing the fd.
  virtual void unwatch(int fd) = 0;
};

}  // namespace ember
