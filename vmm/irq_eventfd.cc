#include "vmm/irq_eventfd.h"

namespace ember {

Result<std::shared_ptr<IrqEventFd>> IrqEventFd::create(const VmFd& vm, uint32_t gsi) {
  ASSIGN_OR_RETURN(EventFd fd, EventFd::create());
  TRY(vm.register_irqfd(fd.fd(), gsi));
  return std::make_shared<IrqEventFd>(std::move(fd));
}

}  // namespace ember
