// Ctrl-C, SIGTERM and SIGHUP while emberctl holds a VM: the handler only records the signal and
// wakes a self-pipe; every wait of emberctl polls that pipe, returns, and the owners of the VM's
// resources (RAII) stop ember and remove what was made. Signal-safe by construction: the
// handler touches nothing else.
#pragma once

#include "base/result.h"

namespace ember::ctl {

class InterruptWatch {
 public:
  // Installs the handlers (one watch per process at a time) and restores the old ones on
  // destruction.
  [[nodiscard]] static Result<InterruptWatch> install();
  InterruptWatch(InterruptWatch&& other) noexcept;
  InterruptWatch& operator=(InterruptWatch&&) = delete;
  ~InterruptWatch();

  // Readable once a signal arrived: give it to every poll as the wake fd.
  [[nodiscard]] int fd() const;
  // The signal that arrived (the first one), or 0.
  [[nodiscard]] int signal() const;

 private:
  InterruptWatch() = default;
  bool owner_ = false;
};

}  // namespace ember::ctl
