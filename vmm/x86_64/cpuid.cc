#include "vmm/x86_64/cpuid.h"

#include <algorithm>
#include <cstring>

namespace ember {
namespace {

// Intel SDM vol. 2A, CPUID: leaf 1 EBX[31:24] initial APIC id, EBX[23:16] max logical
// processor ids, ECX bit 31 "running on a hypervisor", EDX bit 28 HTT.
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;
// Leaf 0xb/0x1f ECX[15:8] level type.
constexpr uint32_t kLevelSmt = 1;
constexpr uint32_t kLevelCore = 2;
constexpr uint32_t kKvmSignatureLeaf = 0x40000000;

uint32_t ceil_log2(uint32_t n) {
  uint32_t s = 0;
  while ((1u << s) < n) ++s;
  return s;
}

kvm_cpuid_entry2* find(std::vector<kvm_cpuid_entry2>& v, uint32_t fn, uint32_t index) {
  for (auto& e : v)
    if (e.function == fn && e.index == index) return &e;
  return nullptr;
}

kvm_cpuid_entry2& find_or_add(std::vector<kvm_cpuid_entry2>& v, uint32_t fn, uint32_t index,
                              uint32_t flags) {
  if (auto* e = find(v, fn, index)) return *e;
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.flags = flags;
  v.push_back(e);
  return v.back();
}

void fill_topology_leaf(std::vector<kvm_cpuid_entry2>& v, uint32_t leaf, uint32_t apic_id,
                        uint32_t count) {
  // Drop what KVM reported for the host topology; the guest sees ours only.
  std::erase_if(v, [&](const kvm_cpuid_entry2& e) { return e.function == leaf; });
  const uint32_t flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  auto& smt = find_or_add(v, leaf, 0, flags);
  smt.eax = 0;  // no bits of the x2APIC id select a thread: one thread per core
  smt.ebx = 1;
  smt.ecx = (kLevelSmt << 8) | 0;
  smt.edx = apic_id;
  auto& core = find_or_add(v, leaf, 1, flags);
  core.eax = ceil_log2(count);
  core.ebx = count;
  core.ecx = (kLevelCore << 8) | 1;
  core.edx = apic_id;
  auto& end = find_or_add(v, leaf, 2, flags);
  end.eax = 0;
  end.ebx = 0;
  end.ecx = 2;  // level type 0: invalid, ends the enumeration
  end.edx = apic_id;
}

}  // namespace

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                             uint32_t index, uint32_t count) {
  std::vector<kvm_cpuid_entry2> v = supported;
  const uint32_t apic_id = index;
  uint32_t max_basic = 0;
  if (auto* l0 = find(v, 0, 0)) max_basic = l0->eax;

  if (auto* l1 = find(v, 1, 0)) {
    l1->ebx = (l1->ebx & 0x0000ffffu) | (apic_id << 24) | ((count & 0xffu) << 16);
    l1->ebx = (l1->ebx & ~0xff00u) | (8u << 8);  // CLFLUSH line size in 8-byte units
    l1->ecx |= kLeaf1EcxHypervisor;
    if (count > 1) l1->edx |= kLeaf1EdxHtt;
    else l1->edx &= ~kLeaf1EdxHtt;
  }

  // Leaf 4, deterministic cache parameters: EAX[31:26] cores per package - 1, EAX[25:14]
  // logical processors sharing the cache - 1 (only the L3 is shared between our cores).
  for (auto& e : v) {
    if (e.function != 4) continue;
    uint32_t cache_level = (e.eax >> 5) & 0x7;
    uint32_t sharing = cache_level >= 3 ? count - 1 : 0;
    e.eax &= 0x3fffu;
    e.eax |= (std::min(count - 1, 63u) << 26) | ((sharing & 0xfffu) << 14);
  }

  if (max_basic >= 0xa) {
    for (auto& e : v)
      if (e.function == 0xa) e.eax = e.ebx = e.ecx = e.edx = 0;
  }
  if (max_basic >= 0xb) fill_topology_leaf(v, 0xb, apic_id, count);
  if (max_basic >= 0x1f) fill_topology_leaf(v, 0x1f, apic_id, count);

  // Hypervisor identity: "KVMKVMKVM\0\0\0" lets Linux enable kvmclock and PV features that
  // leaf 0x40000001 announces.
  auto& sig = find_or_add(v, kKvmSignatureLeaf, 0, 0);
  if (sig.eax < kKvmSignatureLeaf + 1) sig.eax = kKvmSignatureLeaf + 1;
  std::memcpy(&sig.ebx, "KVMK", 4);
  std::memcpy(&sig.ecx, "VMKV", 4);
  std::memcpy(&sig.edx, "M\0\0\0", 4);
  (void)find_or_add(v, kKvmSignatureLeaf + 1, 0, 0);
  return v;
}

}  // namespace ember
