#include "vmm/x86_64/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>

namespace ember {
namespace {

kvm_cpuid_entry2 entry(uint32_t fn, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& v, uint32_t fn, uint32_t index) {
  for (const auto& e : v)
    if (e.function == fn && e.index == index) return &e;
  return nullptr;
}

std::vector<kvm_cpuid_entry2> host() {
  return {
      entry(0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
      entry(1, 0, 0x000806f8, 0xff7f0800, 0x7ffefbff, 0xbfebfbff),  // host APIC id 0xff, 127 logical
      entry(4, 0, 0x1c004121, 0, 0, 0),  // L1 data, host says 8 cores sharing... (bits 31:26)
      entry(4, 3, 0xfc03c163, 0, 0, 0),  // L3
      entry(0xa, 0, 0x07300805, 1, 2, 3),
      entry(0xb, 0, 1, 2, 0x100, 0xff),   // host's own topology: must be replaced
      entry(0xb, 1, 7, 64, 0x201, 0xff),
      entry(0x80000001, 0, 0, 0, 0x121, 0x2c100800),
  };
}

TEST(Cpuid, Leaf1CarriesApicIdCountAndHypervisorBit) {
  auto v = cpuid_for_vcpu(host(), 3, 4);
  const auto* l1 = find(v, 1, 0);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->ebx >> 24, 3u);
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 4u);
  EXPECT_EQ((l1->ebx >> 8) & 0xff, 8u);
  EXPECT_TRUE(l1->ecx & (1u << 31));
  EXPECT_TRUE(l1->edx & (1u << 28));
  EXPECT_EQ(l1->eax, 0x000806f8u);  // family/model untouched
  auto single = cpuid_for_vcpu(host(), 0, 1);
  EXPECT_FALSE(find(single, 1, 0)->edx & (1u << 28));
}

TEST(Cpuid, TopologyLeafDescribesOurCoresNotTheHosts) {
  auto v = cpuid_for_vcpu(host(), 5, 6);
  const auto* smt = find(v, 0xb, 0);
  const auto* core = find(v, 0xb, 1);
  const auto* end = find(v, 0xb, 2);
  ASSERT_TRUE(smt && core && end);
  EXPECT_EQ(smt->ebx, 1u);
  EXPECT_EQ((smt->ecx >> 8) & 0xff, 1u);
  EXPECT_EQ(smt->edx, 5u);
  EXPECT_EQ(core->eax, 3u);  // 2^3 >= 6
  EXPECT_EQ(core->ebx, 6u);
  EXPECT_EQ((core->ecx >> 8) & 0xff, 2u);
  EXPECT_EQ(core->edx, 5u);
  EXPECT_EQ((end->ecx >> 8) & 0xff, 0u);
  EXPECT_TRUE(core->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
  // Leaf 0x1f is within max leaf 0x1f, so it is generated too.
  ASSERT_NE(find(v, 0x1f, 1), nullptr);
  EXPECT_EQ(find(v, 0x1f, 1)->ebx, 6u);
}

TEST(Cpuid, CacheLeafCoreCounts) {
  auto v = cpuid_for_vcpu(host(), 0, 4);
  EXPECT_EQ(find(v, 4, 0)->eax >> 26, 3u);
  EXPECT_EQ((find(v, 4, 0)->eax >> 14) & 0xfff, 0u);
  EXPECT_EQ((find(v, 4, 3)->eax >> 14) & 0xfff, 3u);
  EXPECT_EQ(find(v, 4, 3)->eax & 0x3fff, 0xfc03c163u & 0x3fff);
}

TEST(Cpuid, PmuHiddenAndKvmSignaturePresent) {
  auto v = cpuid_for_vcpu(host(), 0, 1);
  const auto* pmu = find(v, 0xa, 0);
  EXPECT_EQ(pmu->eax | pmu->ebx | pmu->ecx | pmu->edx, 0u);
  const auto* sig = find(v, 0x40000000, 0);
  ASSERT_NE(sig, nullptr);
  char text[13] = {};
  std::memcpy(text, &sig->ebx, 4);
  std::memcpy(text + 4, &sig->ecx, 4);
  std::memcpy(text + 8, &sig->edx, 4);
  EXPECT_STREQ(text, "KVMKVMKVM");
  EXPECT_GE(sig->eax, 0x40000001u);
  EXPECT_NE(find(v, 0x40000001, 0), nullptr);
}

TEST(Cpuid, LowMaxLeafGetsNoTopologyLeaf) {
  std::vector<kvm_cpuid_entry2> old = {entry(0, 0, 0xa, 0, 0, 0), entry(1, 0, 0, 0, 0, 0)};
  auto v = cpuid_for_vcpu(old, 1, 2);
  EXPECT_EQ(find(v, 0xb, 0), nullptr);
  EXPECT_EQ(find(v, 1, 0)->ebx >> 24, 1u);
}

}  // namespace
}  // namespace ember
