#include "vmm/vm_exit.h"

namespace ember {

Result<std::unique_ptr<ExitSignal>> ExitSignal::create() {
  auto ev = EventFd::create();
  if (!ev) return ev.error();
  return std::make_unique<ExitSignal>(std::move(ev).value());
}

void ExitSignal::report(int code, std::string reason) {
  {
    std::lock_guard<std::mutex> g(lock_);
    if (reported_.load()) return;
    code_ = code;
    reason_ = std::move(reason);
    reported_.store(true, std::memory_order_release);
  }
  event_.signal();
}

int ExitSignal::code() const {
  std::lock_guard<std::mutex> g(lock_);
  return code_;
}

std::string ExitSignal::reason() const {
  std::lock_guard<std::mutex> g(lock_);
  return reason_;
}

}  // namespace ember
