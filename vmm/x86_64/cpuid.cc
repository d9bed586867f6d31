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

// Replaces bits [lo, hi] of `x` with `v` (which fits: callers pass counts below 2^(hi-lo+1)).
void set_bits(uint32_t& x, unsigned lo, unsigned hi, uint32_t v) {
  const uint32_t width = hi - lo + 1;
  const uint32_t mask = (width >= 32 ? ~0u : ((1u << width) - 1)) << lo;
  x = (x & ~mask) | ((v << lo) & mask);
}

uint32_t next_power_of_two(uint32_t n) { return 1u << ceil_log2(n); }

bool is_amd(const std::vector<kvm_cpuid_entry2>& v) {
  for (const auto& e : v) {
    if (e.function != 0 || e.index != 0) continue;
    char vendor[12];
    std::memcpy(vendor, &e.ebx, 4);
    std::memcpy(vendor + 4, &e.edx, 4);
    std::memcpy(vendor + 8, &e.ecx, 4);
    return std::memcmp(vendor, "AuthenticAMD", 12) == 0;
  }
  return false;
}

// Leaves 0xb and 0x1f: the logical-processor level (one x2APIC id bit selects the thread when
// there are two threads per core), the core level (all vCPUs in one package), then the invalid
// level that ends the enumeration. KVM's entries for the host's topology are dropped first.
void fill_topology_leaf(std::vector<kvm_cpuid_entry2>& v, uint32_t leaf, uint32_t apic_id, uint32_t count,
                        uint32_t thread_bits) {
  std::erase_if(v, [&](const kvm_cpuid_entry2& e) { return e.function == leaf; });
  const uint32_t flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  auto& smt = find_or_add(v, leaf, 0, flags);
  smt.eax = thread_bits;
  smt.ebx = 1u << thread_bits;  // logical processors per core
  smt.ecx = (kLevelSmt << 8) | 0;
  smt.edx = apic_id;
  auto& core = find_or_add(v, leaf, 1, flags);
  core.eax = std::max(ceil_log2(count), thread_bits);
  core.ebx = count;
  core.ecx = (kLevelCore << 8) | 1;
  core.edx = apic_id;
  auto& end = find_or_add(v, leaf, 2, flags);
  end.eax = 0;
  end.ebx = 0;
  end.ecx = 2;  // level type 0: invalid, ends the enumeration
  end.edx = apic_id;
}

// Leaf 4 (Intel) and 0x8000001d (AMD), deterministic cache parameters: EAX[25:14] logical
// processors sharing the cache - 1 (L1 and L2: the threads of a core; L3: every vCPU).
void set_cache_sharing(kvm_cpuid_entry2& e, uint32_t count, uint32_t threads_per_core) {
  const uint32_t cache_level = (e.eax >> 5) & 0x7;
  if (cache_level == 1 || cache_level == 2) set_bits(e.eax, 14, 25, threads_per_core - 1);
  if (cache_level == 3) set_bits(e.eax, 14, 25, count - 1);
}

// AMD APM vol. 3, appendix E: 0x80000001 ECX[22] TopologyExtensions (the guest reads
// 0x8000001e); 0x80000008 ECX[15:12] APIC id bits for threads, ECX[7:0] threads in the package
// - 1; 0x8000001e EAX extended APIC id, EBX[7:0] core (compute unit) id, EBX[15:8] threads per
// core - 1, ECX nodes: one node, id 0.
void fill_amd_topology(std::vector<kvm_cpuid_entry2>& v, uint32_t apic_id, uint32_t count,
                       uint32_t threads_per_core) {
  uint32_t max_extended = 0;
  if (auto* e = find(v, 0x80000000, 0)) max_extended = e->eax;
  if (auto* e = find(v, 0x80000001, 0)) e->ecx |= 1u << 22;
  if (auto* e = find(v, 0x80000008, 0)) {
    set_bits(e->ecx, 12, 15, 7);
    set_bits(e->ecx, 0, 7, count - 1);
  }
  for (auto& e : v)
    if (e.function == 0x8000001d) set_cache_sharing(e, count, threads_per_core);
  if (max_extended < 0x8000001e) return;
  auto& ext = find_or_add(v, 0x8000001e, 0, 0);
  ext.eax = apic_id;
  set_bits(ext.ebx, 0, 7, apic_id / threads_per_core);
  set_bits(ext.ebx, 8, 15, threads_per_core - 1);
  set_bits(ext.ecx, 0, 10, 0);
}

}  // namespace

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                             uint32_t index, uint32_t count, bool smt) {
  std::vector<kvm_cpuid_entry2> v = supported;
  const uint32_t apic_id = index;
  // As Firecracker (arch/x86_64/vcpu.rs): two threads per core only with SMT and more than one vCPU.
  const uint32_t thread_bits = (smt && count > 1) ? 1 : 0;
  const uint32_t threads_per_core = 1u << thread_bits;
  uint32_t max_basic = 0;
  if (auto* l0 = find(v, 0, 0)) max_basic = l0->eax;

  if (auto* l1 = find(v, 1, 0)) {
    // EBX[23:16]: addressable logical processor ids in the package, a power of two.
    l1->ebx = (l1->ebx & 0x0000ffffu) | (apic_id << 24) | ((next_power_of_two(count) & 0xffu) << 16);
    l1->ebx = (l1->ebx & ~0xff00u) | (8u << 8);  // CLFLUSH line size in 8-byte units
    l1->ecx |= kLeaf1EcxHypervisor;
    if (count > 1) l1->edx |= kLeaf1EdxHtt;
    else l1->edx &= ~kLeaf1EdxHtt;
  }

  // Leaf 4: EAX[31:26] cores per package - 1, and the cache sharing. Stops at the first all-zero
  // subleaf (no more caches), as the SDM says to.
  for (auto& e : v) {
    if (e.function != 4 || (e.eax | e.ebx | e.ecx | e.edx) == 0) continue;
    set_cache_sharing(e, count, threads_per_core);
    set_bits(e.eax, 26, 31, std::min(count / threads_per_core - 1, 63u));
  }

  if (max_basic >= 0xa) {
    for (auto& e : v)
      if (e.function == 0xa) e.eax = e.ebx = e.ecx = e.edx = 0;
  }
  if (max_basic >= 0xb) fill_topology_leaf(v, 0xb, apic_id, count, thread_bits);
  if (max_basic >= 0x1f) fill_topology_leaf(v, 0x1f, apic_id, count, thread_bits);
  if (is_amd(v)) fill_amd_topology(v, apic_id, count, threads_per_core);

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
