// Hands actions from the API thread to the VMM thread and the replies back: the API thread
// blocks on a future while the VMM thread, woken by an eventfd, runs the action.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>

#include "vmm/controller/action.h"
#include "api/api_handler.h"
#include "base/event_fd.h"

namespace ember {

class ActionQueue final : public ApiHandler {
 public:
  explicit ActionQueue(EventFd wakeup) : wakeup_(std::move(wakeup)) {}

  // API thread: queue and wait. Returns 503 once the VMM is shutting down.
  ApiReply handle(const VmmAction& action) override;
  // VMM thread: run everything queued with `run`.
  void drain(const std::function<ApiReply(const VmmAction&)>& run);
  // VMM thread, at exit: answer what is queued and refuse what comes later.
  void close();
  [[nodiscard]] int fd() const { return wakeup_.fd(); }

 private:
  struct Item {
    VmmAction action;
    std::promise<ApiReply> reply;
  };
  EventFd wakeup_;
  std::mutex lock_;
  std::deque<Item> items_;
  bool closed_ = false;
};

}  // namespace ember
