#include "base/event_loop.h"

#include <sys/epoll.h>

#include <array>
#include <cerrno>

#include "base/errno_error.h"

namespace ember {

Result<EventLoop> EventLoop::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return errno_error("epoll_create1");
  return EventLoop(UniqueFd(fd));
}

Result<void> EventLoop::add(int fd, uint32_t events, Handler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  std::lock_guard<std::mutex> g(*lock_);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return errno_error("epoll_ctl add");
  handlers_[fd] = std::move(handler);
  return {};
}

Result<void> EventLoop::modify(int fd, uint32_t events, Handler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  std::lock_guard<std::mutex> g(*lock_);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) return errno_error("epoll_ctl modify");
  handlers_[fd] = std::move(handler);
  return {};
}

void EventLoop::remove(int fd) {
  std::lock_guard<std::mutex> g(*lock_);
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

Result<void> EventLoop::run_once(int timeout_ms) {
  std::array<epoll_event, 16> events{};
  int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return {};
    return errno_error("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    Handler h;
    {
      std::lock_guard<std::mutex> g(*lock_);
      auto it = handlers_.find(events[i].data.fd);
      // A handler may have removed this fd (or others) while we dispatch.
      if (it == handlers_.end()) continue;
      h = it->second;
    }
    h(events[i].events);
  }
  return {};
}

}  // namespace ember
