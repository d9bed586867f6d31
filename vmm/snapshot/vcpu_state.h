// Everything KVM holds for one vCPU, for snapshots (Documentation/virt/kvm/api.rst, the
// KVM_GET_* / KVM_SET_* pairs).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "base/result.h"

namespace ember {

class ByteReader;
class ByteWriter;
class VcpuFd;

struct VcpuState {
  std::vector<kvm_cpuid_entry2> cpuid;
  kvm_mp_state mp_state{};
  kvm_regs regs{};
  kvm_sregs sregs{};
  std::vector<uint8_t> xsave;
  kvm_xcrs xcrs{};
  kvm_debugregs debugregs{};
  kvm_lapic_state lapic{};
  std::vector<kvm_msr_entry> msrs;
  kvm_vcpu_events events{};
};

// The vCPU must be out of KVM_RUN (paused). `msr_indices`: KVM_GET_MSR_INDEX_LIST's answer.
// `xsave_size`: 4096, or KVM_CAP_XSAVE2's answer when larger.
[[nodiscard]] Result<VcpuState> save_vcpu_state(const VcpuFd& vcpu, const std::vector<uint32_t>& msr_indices,
                                                size_t xsave_size);
// On a vCPU that has not run yet.
[[nodiscard]] Result<void> restore_vcpu_state(const VcpuFd& vcpu, const VcpuState& state, size_t xsave_size);

void encode_vcpu_state(ByteWriter& out, const VcpuState& state);
[[nodiscard]] Result<VcpuState> decode_vcpu_state(ByteReader& in);

}  // namespace ember
