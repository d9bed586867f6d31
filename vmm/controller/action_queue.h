// Hands actions from the API thread to the VMM thread and the results back: the API thread
// blocks on a future while the VMM thread, woken by an eventfd, runs the action.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>

#include "base/event_fd.h"
#include "vmm/controller/action.h"

namespace ember {

class ActionQueue final : public ActionHandler {
 public:
  explicit ActionQueue(EventFd wakeup) : wakeup_(std::move(wakeup)) {}

  // API thread: queue and wait. An ErrorKind::kUnavailable error once the VMM is shutting down.
  ActionResult handle(const VmmAction& action) override;
  // VMM thread: run everything queued with `run`.
  void drain(const std::function<ActionResult(const VmmAction&)>& run);
  // VMM thread, at exit: answer what is queued and refuse what comes later.
  void close();
  [[nodiscard]] int fd() const { return wakeup_.fd(); }

 private:
  struct Item {
    VmmAction action;
    std::promise<ActionResult> result;
  };
  EventFd wakeup_;
  std::mutex lock_;
  std::deque<Item> items_;
  bool closed_ = false;
};

}  // namespace ember
