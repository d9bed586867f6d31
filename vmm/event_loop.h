// The VMM thread's epoll loop: fds with callbacks, run until told to stop.
#pragma once

#include <functional>
#include <map>

#include "vmm/util/result.h"
#include "vmm/util/unique_fd.h"

namespace ember {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;
  [[nodiscard]] static Result<EventLoop> create();

  [[nodiscard]] Result<void> add(int fd, uint32_t events, Handler handler);
  [[nodiscard]] Result<void> modify(int fd, uint32_t events, Handler handler);
  void remove(int fd);
  // Waits up to timeout_ms (-1: forever) and dispatches what is ready.
  [[nodiscard]] Result<void> run_once(int timeout_ms);

 private:
  explicit EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}
  UniqueFd epoll_;
  std::map<int, Handler> handlers_;
};

}  // namespace ember
