#include "vmm/snapshot/vm_state.h"

#include "base/byte_codec.h"
#include "vmm/kvm/kvm.h"

namespace ember {

// kvm_irqchip's union is fully covered by its `char dummy[512]`: no byte of it is padding.
template <>
inline constexpr bool kPaddingFree<kvm_irqchip> = true;

Result<VmState> save_vm_state(const VmFd& vm) {
  VmState s;
  ASSIGN_OR_RETURN(s.pic_master, vm.get_irqchip(KVM_IRQCHIP_PIC_MASTER));
  ASSIGN_OR_RETURN(s.pic_slave, vm.get_irqchip(KVM_IRQCHIP_PIC_SLAVE));
  ASSIGN_OR_RETURN(s.ioapic, vm.get_irqchip(KVM_IRQCHIP_IOAPIC));
  ASSIGN_OR_RETURN(s.pit, vm.get_pit2());
  ASSIGN_OR_RETURN(s.clock, vm.get_clock());
  return s;
}

Result<void> restore_vm_state(const VmFd& vm, const VmState& s, bool clock_realtime) {
  TRY(vm.set_pit2(s.pit));
  kvm_clock_data clock{};
  clock.clock = s.clock.clock;
  // Without KVM_CLOCK_REALTIME the guest's clock continues from the value saved: monotonic,
  // never backwards, and the guest (its agent) sets the wall clock. With it KVM adds the
  // wall-clock time elapsed since `realtime` was read.
  if (clock_realtime && (s.clock.flags & KVM_CLOCK_REALTIME) != 0) {
    clock.flags = KVM_CLOCK_REALTIME;
    clock.realtime = s.clock.realtime;
  }
  TRY(vm.set_clock(clock));
  TRY(vm.set_irqchip(s.pic_master));
  TRY(vm.set_irqchip(s.pic_slave));
  TRY(vm.set_irqchip(s.ioapic));
  return {};
}

void encode_vm_state(ByteWriter& out, const VmState& s) {
  out.pod(s.pic_master);
  out.pod(s.pic_slave);
  out.pod(s.ioapic);
  out.pod(s.pit);
  out.pod(s.clock);
}

Result<VmState> decode_vm_state(ByteReader& in) {
  VmState s;
  ASSIGN_OR_RETURN(s.pic_master, in.pod<kvm_irqchip>("PIC master state"));
  ASSIGN_OR_RETURN(s.pic_slave, in.pod<kvm_irqchip>("PIC slave state"));
  ASSIGN_OR_RETURN(s.ioapic, in.pod<kvm_irqchip>("IOAPIC state"));
  if (s.pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER || s.pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE ||
      s.ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
    return make_error("interrupt controller states are not the PIC master, PIC slave and IOAPIC in order");
  ASSIGN_OR_RETURN(s.pit, in.pod<kvm_pit_state2>("PIT state"));
  ASSIGN_OR_RETURN(s.clock, in.pod<kvm_clock_data>("kvmclock state"));
  return s;
}

}  // namespace ember
