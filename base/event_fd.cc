#include "base/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "base/errno_error.h"

namespace ember {

Result<EventFd> EventFd::create(bool nonblocking) {
  int fd = ::eventfd(0, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
  if (fd < 0) return errno_error("eventfd");
  return EventFd(UniqueFd(fd));
}

void EventFd::signal() const {
  uint64_t one = 1;
  ssize_t n = ::write(fd_.get(), &one, sizeof one);
  (void)n;
}

uint64_t EventFd::drain() const {
  uint64_t v = 0;
  if (::read(fd_.get(), &v, sizeof v) != sizeof v) return 0;
  return v;
}

}  // namespace ember
