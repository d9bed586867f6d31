#include "vmm/seccomp/confined_start.h"

#include "vmm/seccomp/thread_filters.h"
#include "vmm/vm.h"

namespace ember::seccomp {

Result<void> start_vm_confined(Vm& vm, bool leave_paused) {
  // A pause before start() makes each vCPU thread park before its first KVM_RUN.
  vm.pause();
  vm.start();
  TRY(install_thread_filter(ThreadKind::kVmm));
  if (!leave_paused) vm.resume();
  return {};
}

}  // namespace ember::seccomp
