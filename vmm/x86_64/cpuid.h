// Per-vCPU CPUID: KVM's supported set, with topology and identity filled in for one vCPU.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace ember {

// Returns the entries for vCPU `index` of `count` (APIC id == index): leaf 1 APIC id and
// logical count, hypervisor bit; leaf 4 core counts; leaves 0xb/0x1f x2APIC topology (one
// thread per core, `count` cores in one package); leaf 0xa zeroed (no PMU exposed); hypervisor
// leaves 0x40000000.. announcing KVM so the guest uses kvmclock.
[[nodiscard]] std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(
    const std::vector<kvm_cpuid_entry2>& supported, uint32_t index, uint32_t count);

}  // namespace ember
