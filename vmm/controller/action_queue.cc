#include "vmm/controller/action_queue.h"

namespace ember {
namespace {

Error shutting_down() { return make_error(ErrorKind::kUnavailable, "the VMM is shutting down"); }

}  // namespace

ActionResult ActionQueue::handle(const VmmAction& action) {
  std::future<ActionResult> result;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (closed_) return shutting_down();
    items_.push_back(Item{action, {}});
    result = items_.back().result.get_future();
  }
  wakeup_.signal();
  return result.get();
}

void ActionQueue::drain(const std::function<ActionResult(const VmmAction&)>& run) {
  wakeup_.drain();
  for (;;) {
    Item item;
    {
      std::lock_guard<std::mutex> g(lock_);
      if (items_.empty()) return;
      item = std::move(items_.front());
      items_.pop_front();
    }
    item.result.set_value(run(item.action));
  }
}

void ActionQueue::close() {
  std::lock_guard<std::mutex> g(lock_);
  closed_ = true;
  for (auto& item : items_) item.result.set_value(shutting_down());
  items_.clear();
}

}  // namespace ember
