#include "vmm/x86_64/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/vmm/x86_64/cpuid_entries.h"

namespace ember {
namespace {

using test::entry;
using test::find;

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

// Firecracker's normalization with SMT (cpu_config/x86_64/cpuid/normalize.rs): two threads per
// core, so one x2APIC id bit selects the thread; vCPUs 2k and 2k+1 share core k.
TEST(Cpuid, SmtGivesTwoThreadsPerCore) {
  auto v = cpuid_for_vcpu(host(), 3, 4, /*smt=*/true);
  const auto* smt = find(v, 0xb, 0);
  const auto* core = find(v, 0xb, 1);
  ASSERT_TRUE(smt && core);
  EXPECT_EQ(smt->eax & 0x1f, 1u);       // shift to the core level
  EXPECT_EQ(smt->ebx & 0xffff, 2u);     // threads per core
  EXPECT_EQ((smt->ecx >> 8) & 0xff, 1u);
  EXPECT_EQ(smt->edx, 3u);
  EXPECT_GE(core->eax & 0x1f, 1u);
  EXPECT_EQ(core->ebx & 0xffff, 4u);    // logical processors in the package
  EXPECT_EQ(find(v, 0x1f, 0)->ebx & 0xffff, 2u);
  const auto* l1 = find(v, 1, 0);
  EXPECT_TRUE(l1->edx & (1u << 28));    // HTT
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 4u);
  // Leaf 4: L1 shared by the core's two threads, L3 by all four; two cores in the package.
  EXPECT_EQ((find(v, 4, 0)->eax >> 14) & 0xfff, 1u);
  EXPECT_EQ((find(v, 4, 3)->eax >> 14) & 0xfff, 3u);
  EXPECT_EQ(find(v, 4, 0)->eax >> 26, 1u);
}

TEST(Cpuid, SmtOffOrOneVcpuGivesOneThreadPerCore) {
  for (auto [count, smt] : {std::pair{4u, false}, std::pair{1u, true}}) {
    auto v = cpuid_for_vcpu(host(), 0, count, smt);
    EXPECT_EQ(find(v, 0xb, 0)->eax & 0x1f, 0u) << count << smt;
    EXPECT_EQ(find(v, 0xb, 0)->ebx & 0xffff, 1u) << count << smt;
    EXPECT_EQ(find(v, 4, 0)->eax >> 26, count - 1) << count << smt;
    EXPECT_EQ((find(v, 4, 0)->eax >> 14) & 0xfff, 0u) << count << smt;
  }
}

std::vector<kvm_cpuid_entry2> amd_host() {
  return {
      entry(0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65),  // "AuthenticAMD"
      entry(1, 0, 0x00a00f11, 0x00400800, 0x7ef8320b, 0x178bfbff),
      entry(0x80000000, 0, 0x80000023, 0, 0, 0),
      entry(0x80000001, 0, 0, 0, 0x00000001, 0),
      entry(0x80000008, 0, 0x3030, 0, 0x0000703f, 0),
      entry(0x8000001d, 0, 0x00004121, 0, 0, 0),  // L1 data, host: 2 threads share it
      entry(0x8000001d, 3, 0x0003c163, 0, 0, 0),  // L3, host: 16 share it
      entry(0x8000001e, 0, 0x0000000c, 0x00000106, 0x00000000, 0),
  };
}

// AMD APM: 0x80000008 ECX[7:0] threads - 1 and [15:12] APIC id size; 0x8000001e the extended APIC
// id, core id and threads per core; TopologyExtensions (0x80000001 ECX[22]) so the guest reads them.
TEST(Cpuid, AmdTopologyLeaves) {
  auto v = cpuid_for_vcpu(amd_host(), 3, 4, /*smt=*/true);
  EXPECT_TRUE(find(v, 0x80000001, 0)->ecx & (1u << 22));
  EXPECT_EQ(find(v, 0x80000008, 0)->ecx & 0xff, 3u);
  EXPECT_EQ((find(v, 0x80000008, 0)->ecx >> 12) & 0xf, 7u);
  const auto* ext = find(v, 0x8000001e, 0);
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->eax, 3u);
  EXPECT_EQ(ext->ebx & 0xff, 1u);          // core 1 (vCPUs 2 and 3)
  EXPECT_EQ((ext->ebx >> 8) & 0xff, 1u);   // two threads per core
  EXPECT_EQ(ext->ecx & 0x7ff, 0u);
  EXPECT_EQ((find(v, 0x8000001d, 0)->eax >> 14) & 0xfff, 1u);
  EXPECT_EQ((find(v, 0x8000001d, 3)->eax >> 14) & 0xfff, 3u);

  auto single = cpuid_for_vcpu(amd_host(), 2, 4, /*smt=*/false);
  EXPECT_EQ(find(single, 0x8000001e, 0)->ebx & 0xff, 2u);
  EXPECT_EQ((find(single, 0x8000001e, 0)->ebx >> 8) & 0xff, 0u);
  EXPECT_EQ((find(single, 0x8000001d, 0)->eax >> 14) & 0xfff, 0u);
  // An Intel host gets none of the AMD leaves.
  EXPECT_EQ(find(cpuid_for_vcpu(host(), 0, 2, true), 0x8000001e, 0), nullptr);
}

}  // namespace
}  // namespace ember
