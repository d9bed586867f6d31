// Per-vCPU CPUID: KVM's supported set, with topology and identity filled in for one vCPU.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace ember {

// Returns the entries for vCPU `index` of `count` (APIC id == index), Firecracker's normalization
// (cpu_config/x86_64/cpuid/normalize.rs): leaf 1 APIC id, logical count and HTT, hypervisor bit;
// leaf 4 (Intel) and 0x8000001d (AMD) cache sharing and core counts; leaves 0xb/0x1f x2APIC
// topology; AMD 0x80000008 ECX thread count, 0x8000001e extended APIC id, core id and threads per
// core; leaf 0xa zeroed (no PMU exposed); hypervisor leaves 0x40000000.. announcing KVM so the
// guest uses kvmclock. Topology: all `count` vCPUs in one package; with `smt` and more than one
// vCPU, two threads per core (vCPUs 2k and 2k+1 share core k), otherwise one.
[[nodiscard]] std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(
    const std::vector<kvm_cpuid_entry2>& supported, uint32_t index, uint32_t count, bool smt = false);

}  // namespace ember
