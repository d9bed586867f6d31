// The VM-wide state KVM emulates in the kernel, for snapshots: the two 8259 PICs, the IOAPIC,
// the PIT and the kvmclock.
#pragma once

#include <linux/kvm.h>

#include "base/result.h"

namespace ember {

class ByteReader;
class ByteWriter;
class VmFd;

struct VmState {
  kvm_irqchip pic_master{};
  kvm_irqchip pic_slave{};
  kvm_irqchip ioapic{};
  kvm_pit_state2 pit{};
  kvm_clock_data clock{};
};

// With every vCPU paused.
[[nodiscard]] Result<VmState> save_vm_state(const VmFd& vm);
// `clock_realtime`: advance kvmclock by the wall-clock time that passed since the snapshot
// (KVM_CLOCK_REALTIME) instead of continuing from where it stopped.
[[nodiscard]] Result<void> restore_vm_state(const VmFd& vm, const VmState& state, bool clock_realtime);

void encode_vm_state(ByteWriter& out, const VmState& state);
[[nodiscard]] Result<VmState> decode_vm_state(ByteReader& in);

}  // namespace ember
