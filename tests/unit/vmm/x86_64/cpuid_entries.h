// Building and finding CPUID entries in the tests of vmm/x86_64 (a sample host table in, the
// table ember hands to KVM out).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace ember::test {

inline kvm_cpuid_entry2 entry(uint32_t fn, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                              uint32_t edx, uint32_t flags = 0) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.flags = flags;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// The entry for (fn, index), or nullptr.
inline const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& v, uint32_t fn, uint32_t index) {
  for (const auto& e : v)
    if (e.function == fn && e.index == index) return &e;
  return nullptr;
}

}  // namespace ember::test
