// How any thread tells the VMM thread that the VM is over: the first report wins; the
// eventfd wakes the VMM's event loop.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "base/event_fd.h"
#include "base/result.h"

namespace ember {

// ember's exit statuses: 0 when the guest shut down or rebooted; non-zero otherwise.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;          // configuration or host error before/while running
inline constexpr int kExitGuestFault = 2;     // the guest crashed the VM (triple fault, bad state)
inline constexpr int kExitGuestPanic = 3;     // the guest kernel reported a panic (pvpanic)

class ExitSignal {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ExitSignal>> create();
  ExitSignal(const ExitSignal&) = delete;
  ExitSignal& operator=(const ExitSignal&) = delete;

  void report(int code, std::string reason);
  [[nodiscard]] bool reported() const { return reported_.load(std::memory_order_acquire); }
  [[nodiscard]] int code() const;
  [[nodiscard]] std::string reason() const;
  [[nodiscard]] int fd() const { return event_.fd(); }

  explicit ExitSignal(EventFd event) : event_(std::move(event)) {}

 private:
  EventFd event_;
  mutable std::mutex lock_;
  std::atomic<bool> reported_{false};
  int code_ = 0;
  std::string reason_;
};

}  // namespace ember
