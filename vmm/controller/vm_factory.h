// How the controller gets a microVM: built from a configuration, or restored from a snapshot,
// then started with every thread confined. An interface so that the controller can be tested
// without KVM (tests/unit/vmm/controller/ hands it a factory of test doubles).
#pragma once

#include <memory>

#include "base/event_loop.h"
#include "base/result.h"
#include "config/models.h"
#include "vmm/vm.h"
#include "vmm/vm_exit.h"

namespace ember {

class VmFactory {
 public:
  virtual ~VmFactory() = default;
  // build_vm(): everything up to, not including, the first KVM_RUN.
  [[nodiscard]] virtual Result<std::unique_ptr<Vm>> build(const VmOptions& options, EventLoop& loop,
                                                          ExitSignal& exit) = 0;
  // restore_vm(): the VM a snapshot was taken of, not started; its configuration is
  // Vm::config(). `options.config` is ignored.
  [[nodiscard]] virtual Result<std::unique_ptr<Vm>> restore(const SnapshotLoadParams& params,
                                                            const VmOptions& options, EventLoop& loop,
                                                            ExitSignal& exit) = 0;
  // Starts a built or restored VM so that no guest code runs before the calling (VMM) thread
  // and every vCPU thread is under its seccomp filter (seccomp::start_vm_confined). On error
  // the vCPUs stay parked and the caller stops the VM.
  [[nodiscard]] virtual Result<void> start(Vm& vm, bool leave_paused) = 0;
};

// The real one: KVM, and the seccomp filters set up by main().
[[nodiscard]] std::unique_ptr<VmFactory> make_kvm_vm_factory();

}  // namespace ember
