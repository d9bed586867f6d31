#include "vmm/controller/vm_factory.h"

#include "vmm/seccomp/confined_start.h"

namespace ember {
namespace {

class KvmVmFactory final : public VmFactory {
 public:
  Result<std::unique_ptr<Vm>> build(const VmOptions& options, EventLoop& loop, ExitSignal& exit) override {
    return build_vm(options, loop, exit);
  }
  Result<std::unique_ptr<Vm>> restore(const SnapshotLoadParams& params, const VmOptions& options,
                                      EventLoop& loop, ExitSignal& exit) override {
    return restore_vm(params, options, loop, exit);
  }
  Result<void> start(Vm& vm, bool leave_paused) override {
    return seccomp::start_vm_confined(vm, leave_paused);
  }
};

}  // namespace

std::unique_ptr<VmFactory> make_kvm_vm_factory() { return std::make_unique<KvmVmFactory>(); }

}  // namespace ember
