#include "vmm/controller/action_queue.h"

#include "api/response.h"

namespace ember {

ApiReply ActionQueue::handle(const VmmAction& action) {
  std::future<ApiReply> reply;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (closed_) return reply_error("the VMM is shutting down", 503);
    items_.push_back(Item{action, {}});
    reply = items_.back().reply.get_future();
  }
  wakeup_.signal();
  return reply.get();
}

void ActionQueue::drain(const std::function<ApiReply(const VmmAction&)>& run) {
  wakeup_.drain();
  for (;;) {
    Item item;
    {
      std::lock_guard<std::mutex> g(lock_);
      if (items_.empty()) return;
      item = std::move(items_.front());
      items_.pop_front();
    }
    item.reply.set_value(run(item.action));
  }
}

void ActionQueue::close() {
  std::lock_guard<std::mutex> g(lock_);
  closed_ = true;
  for (auto& item : items_) item.reply.set_value(reply_error("the VMM is shutting down", 503));
  items_.clear();
}

}  // namespace ember
