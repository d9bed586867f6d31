// The steps a booted and a restored VM share (vm_builder.cc builds, vm_restore.cc restores).
// Internal to vmm/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "base/result.h"
#include "vmm/microvm.h"
#include "vmm/vm.h"
#include "vmm/vm_plan.h"

namespace ember {

// KVM, memory as `plan` lays it out (anonymous for a boot, the snapshot's memory file
// `memory_fd` for a restore), the legacy devices and the plan's virtio devices on their
// buses, which are frozen. No vCPUs yet. `loop` and `exit` must outlive the parts.
[[nodiscard]] Result<std::unique_ptr<MicroVmParts>> assemble_vm(const VmConfig& config, const VmPlan& plan,
                                                                const VmOptions& options, EventLoop& loop,
                                                                ExitSignal& exit, int memory_fd);

// Creates `count` vCPUs in id order, each given its state by `set_up` before the next one is
// created.
[[nodiscard]] Result<void> add_vcpus(MicroVmParts& parts, ExitSignal& exit, uint32_t count,
                                     const std::function<Result<void>(const VcpuFd&)>& set_up);

}  // namespace ember
