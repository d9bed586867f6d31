// The VMM thread's epoll loop: fds with callbacks, run until told to stop. add/modify/remove
// may be called from any thread (devices register fds when a vCPU thread activates them);
// handlers run on the thread calling run_once(), without the loop's lock held.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "base/result.h"
#include "base/unique_fd.h"

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
  std::unique_ptr<std::mutex> lock_ = std::make_unique<std::mutex>();  // movable loop
  std::map<int, Handler> handlers_;  // guarded by *lock_
};

}  // namespace ember
