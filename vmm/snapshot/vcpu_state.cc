#include "vmm/snapshot/vcpu_state.h"

#include <algorithm>

#include "base/byte_codec.h"
#include "vmm/kvm/kvm.h"

namespace ember {
namespace {

// Architectural MSR numbers (Intel SDM vol. 4): the TSC deadline is relative to the TSC, so it
// must be written after it or KVM computes it against the old TSC.
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrTscDeadline = 0x6e0;

// Far above what KVM lists (about 40 MSRs and 100 CPUID entries here), small enough that a
// forged count stays harmless.
constexpr uint32_t kMaxMsrs = 4096;
constexpr uint32_t kMaxCpuidEntries = 4096;
constexpr size_t kMaxXsaveSize = 1 << 20;

}  // namespace

Result<VcpuState> save_vcpu_state(const VcpuFd& vcpu, const std::vector<uint32_t>& msr_indices, size_t xsave_size) {
  VcpuState s;
  ASSIGN_OR_RETURN(s.cpuid, vcpu.get_cpuid());
  ASSIGN_OR_RETURN(s.mp_state, vcpu.get_mp_state());
  ASSIGN_OR_RETURN(s.regs, vcpu.get_regs());
  ASSIGN_OR_RETURN(s.sregs, vcpu.get_sregs());
  ASSIGN_OR_RETURN(s.xsave, vcpu.get_xsave(xsave_size));
  ASSIGN_OR_RETURN(s.xcrs, vcpu.get_xcrs());
  ASSIGN_OR_RETURN(s.debugregs, vcpu.get_debugregs());
  ASSIGN_OR_RETURN(s.lapic, vcpu.get_lapic());
  ASSIGN_OR_RETURN(s.msrs, vcpu.get_msrs(msr_indices));
  // Events last: reading the others must not change what is pending.
  ASSIGN_OR_RETURN(s.events, vcpu.get_vcpu_events());
  return s;
}

Result<void> restore_vcpu_state(const VcpuFd& vcpu, const VcpuState& s, size_t xsave_size) {
  // The order KVM needs: CPUID first (it decides which MSRs and XSAVE features exist), the
  // LAPIC before the MSRs (the TSC deadline timer lives in it), the events last (they refer
  // to the restored registers).
  TRY(vcpu.set_cpuid(s.cpuid));
  TRY(vcpu.set_mp_state(s.mp_state));
  TRY(vcpu.set_regs(s.regs));
  TRY(vcpu.set_sregs(s.sregs));
  // KVM_SET_XSAVE reads as many bytes as this host's KVM_CAP_XSAVE2 says.
  std::vector<uint8_t> xsave = s.xsave;
  if (xsave.size() < xsave_size) xsave.resize(xsave_size, 0);
  TRY(vcpu.set_xsave(xsave));
  TRY(vcpu.set_xcrs(s.xcrs));
  TRY(vcpu.set_debugregs(s.debugregs));
  TRY(vcpu.set_lapic(s.lapic));
  std::vector<kvm_msr_entry> msrs = s.msrs;
  std::stable_partition(msrs.begin(), msrs.end(), [](const kvm_msr_entry& e) { return e.index != kMsrTscDeadline; });
  std::stable_partition(msrs.begin(), msrs.end(), [](const kvm_msr_entry& e) { return e.index == kMsrTsc; });
  TRY(vcpu.set_msrs(msrs));
  TRY(vcpu.set_vcpu_events(s.events));
  return {};
}

void encode_vcpu_state(ByteWriter& out, const VcpuState& s) {
  out.pods(s.cpuid);
  out.pod(s.mp_state);
  out.pod(s.regs);
  out.pod(s.sregs);
  out.bytes(s.xsave);
  out.pod(s.xcrs);
  out.pod(s.debugregs);
  out.pod(s.lapic);
  out.pods(s.msrs);
  out.pod(s.events);
}

Result<VcpuState> decode_vcpu_state(ByteReader& in) {
  VcpuState s;
  ASSIGN_OR_RETURN(s.cpuid, in.pods<kvm_cpuid_entry2>("vCPU CPUID entries", kMaxCpuidEntries));
  ASSIGN_OR_RETURN(s.mp_state, in.pod<kvm_mp_state>("vCPU MP state"));
  ASSIGN_OR_RETURN(s.regs, in.pod<kvm_regs>("vCPU registers"));
  ASSIGN_OR_RETURN(s.sregs, in.pod<kvm_sregs>("vCPU special registers"));
  ASSIGN_OR_RETURN(s.xsave, in.bytes("vCPU XSAVE area", kMaxXsaveSize));
  if (s.xsave.size() < 4096) return make_error("vCPU XSAVE area is " + std::to_string(s.xsave.size()) + " bytes, less than 4096");
  ASSIGN_OR_RETURN(s.xcrs, in.pod<kvm_xcrs>("vCPU XCRs"));
  ASSIGN_OR_RETURN(s.debugregs, in.pod<kvm_debugregs>("vCPU debug registers"));
  ASSIGN_OR_RETURN(s.lapic, in.pod<kvm_lapic_state>("vCPU local APIC"));
  ASSIGN_OR_RETURN(s.msrs, in.pods<kvm_msr_entry>("vCPU MSRs", kMaxMsrs));
  ASSIGN_OR_RETURN(s.events, in.pod<kvm_vcpu_events>("vCPU events"));
  return s;
}

}  // namespace ember
