#include "vmm/x86_64/cpu_template.h"

#include <gtest/gtest.h>

#include "vmm/x86_64/cpuid.h"

#include "tests/unit/vmm/x86_64/cpuid_entries.h"

namespace ember {
namespace {

using test::entry;
using test::find;

// A Cascade Lake host as KVM reports it (every bit of the features set, so that what a template
// clears shows).
std::vector<kvm_cpuid_entry2> cascade_lake_cpuid() {
  return {
      entry(0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69),
      entry(1, 0, 0x00050657, 0x00010800, 0xffffffff, 0xffffffff),
      entry(4, 0, 0x1c004121, 0, 0, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(7, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(0xb, 0, 1, 2, 0x100, 0),
      entry(0xd, 0, 0xffffffff, 0, 0, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(0xd, 1, 0xffffffff, 0, 0, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(0x80000000, 0, 0x80000008, 0, 0, 0),
      entry(0x80000001, 0, 0, 0, 0xffffffff, 0xffffffff),
      entry(0x80000008, 0, 0x3030, 0xffffffff, 0, 0),
  };
}

const HostCpu kCascadeLake{"GenuineIntel", 0x00050657};
const HostCpu kSkylake{"GenuineIntel", 0x00050654};
const HostCpu kIceLake{"GenuineIntel", 0x000606a6};
const HostCpu kSapphireRapids{"GenuineIntel", 0x000806f8};
const HostCpu kMilan{"AuthenticAMD", 0x00a00f11};
const HostCpu kGenoa{"AuthenticAMD", 0x00a10f11};

constexpr const char* kVendor = "CPU vendor mismatched between actual CPU and CPU template.";
constexpr const char* kModel = "The current CPU model is not permitted to apply the CPU template.";

// Firecracker's static_cpu_templates/mod.rs: which vendor and models each template allows.
TEST(CpuTemplate, StaticTemplatesFitTheirModelsOnly) {
  struct Case {
    StaticCpuTemplate t;
    const HostCpu& host;
    const char* error;  // nullptr: fits
  };
  const Case cases[] = {
      {StaticCpuTemplate::kC3, kSkylake, nullptr},         {StaticCpuTemplate::kC3, kCascadeLake, nullptr},
      {StaticCpuTemplate::kC3, kIceLake, nullptr},         {StaticCpuTemplate::kC3, kSapphireRapids, kModel},
      {StaticCpuTemplate::kC3, kMilan, kVendor},           {StaticCpuTemplate::kT2, kIceLake, nullptr},
      {StaticCpuTemplate::kT2, kMilan, kVendor},           {StaticCpuTemplate::kT2S, kSkylake, nullptr},
      {StaticCpuTemplate::kT2S, kCascadeLake, nullptr},    {StaticCpuTemplate::kT2S, kIceLake, kModel},
      {StaticCpuTemplate::kT2CL, kSkylake, kModel},        {StaticCpuTemplate::kT2CL, kCascadeLake, nullptr},
      {StaticCpuTemplate::kT2CL, kIceLake, nullptr},       {StaticCpuTemplate::kT2A, kMilan, nullptr},
      {StaticCpuTemplate::kT2A, kGenoa, kModel},           {StaticCpuTemplate::kT2A, kCascadeLake, kVendor},
  };
  for (const Case& c : cases) {
    auto t = static_cpu_template(c.t, c.host);
    const std::string label = std::string(static_cpu_template_name(c.t)) + " on " + c.host.vendor;
    if (c.error == nullptr) {
      EXPECT_TRUE(t.ok()) << label << ": " << t.error().message;
    } else {
      ASSERT_FALSE(t.ok()) << label;
      EXPECT_EQ(t.error().message, c.error) << label;
    }
  }
  // Processor type bits (13:12) and reserved bits do not take part in the match.
  EXPECT_TRUE(static_cpu_template(StaticCpuTemplate::kT2, HostCpu{"GenuineIntel", 0xf0053657}).ok());
}

TEST(CpuTemplate, ResolveWrapsTheErrorAsFirecrackerDoes) {
  auto none = resolve_cpu_template(StaticCpuTemplate::kNone, nullptr, kMilan);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, CustomCpuTemplate{});
  auto bad = resolve_cpu_template(StaticCpuTemplate::kT2, nullptr, kMilan);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, std::string("Failed to get CPU template: ") + kVendor);
  // A custom template is taken as it is, whatever the host.
  CustomCpuTemplate custom;
  custom.msr_modifiers.push_back(MsrModifier{0x10a, {1, 1}});
  auto c = resolve_cpu_template(StaticCpuTemplate::kNone, &custom, kMilan);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, custom);
}

// T2 on a Cascade Lake: Firecracker's t2.rs values, register by register.
TEST(CpuTemplate, T2AppliedToASampleHost) {
  auto t2 = static_cpu_template(StaticCpuTemplate::kT2, kCascadeLake);
  ASSERT_TRUE(t2.ok());
  auto v = apply_cpuid_template(cascade_lake_cpuid(), *t2);
  ASSERT_TRUE(v.ok()) << v.error().message;
  const auto* l1 = find(*v, 1, 0);
  EXPECT_EQ(l1->eax, 0x000306f2u);  // poses as a Haswell (family 6, model 0x3f, stepping 2)
  EXPECT_EQ(l1->ecx, ~0x0004cdfcu);
  EXPECT_EQ(l1->edx, (~0xe8641080u) | 0x00001080u);
  const auto* l7 = find(*v, 7, 0);
  EXPECT_EQ(l7->ebx, (~0xffefda14u) | 0x200u);
  EXPECT_EQ(l7->ecx, ~0x40415f5eu);
  EXPECT_EQ(l7->edx, ~0x0000011cu);
  EXPECT_EQ(l7->flags, 1u);
  EXPECT_EQ(find(*v, 0xd, 0)->eax, ~0x2f8u);
  EXPECT_EQ(find(*v, 0xd, 1)->eax, ~0xeu);
  EXPECT_EQ(find(*v, 0x80000001, 0)->ecx, ~0x20000100u);
  EXPECT_EQ(find(*v, 0x80000001, 0)->edx, ~0x04000000u);
  EXPECT_EQ(find(*v, 0x80000008, 0)->ebx, ~0x200u);
  EXPECT_EQ(find(*v, 4, 0)->eax, 0x1c004121u);  // untouched
  EXPECT_TRUE(t2->msr_modifiers.empty());

  // Then the per-vCPU normalization still sets the topology and identity bits.
  auto vcpu = cpuid_for_vcpu(*v, 1, 2, true);
  EXPECT_EQ(find(vcpu, 1, 0)->ebx >> 24, 1u);
  EXPECT_TRUE(find(vcpu, 1, 0)->ecx & (1u << 31));
  EXPECT_EQ(find(vcpu, 0xb, 0)->ebx, 2u);
}

TEST(CpuTemplate, EachStaticTemplateHasFirecrackersShape) {
  struct Shape {
    StaticCpuTemplate t;
    const HostCpu& host;
    size_t leaves;
    size_t registers;
    size_t msrs;
  };
  for (const Shape& s : {Shape{StaticCpuTemplate::kC3, kCascadeLake, 5, 10, 0},
                         Shape{StaticCpuTemplate::kT2, kCascadeLake, 6, 11, 0},
                         Shape{StaticCpuTemplate::kT2S, kCascadeLake, 6, 11, 1},
                         Shape{StaticCpuTemplate::kT2CL, kCascadeLake, 6, 11, 1},
                         Shape{StaticCpuTemplate::kT2A, kMilan, 6, 11, 0}}) {
    auto t = static_cpu_template(s.t, s.host);
    ASSERT_TRUE(t.ok());
    size_t registers = 0;
    for (const auto& leaf : t->cpuid_modifiers) {
      registers += leaf.modifiers.size();
      for (const auto& m : leaf.modifiers) EXPECT_EQ(m.bitmap.value & ~m.bitmap.filter, 0u);
    }
    EXPECT_EQ(t->cpuid_modifiers.size(), s.leaves) << static_cpu_template_name(s.t);
    EXPECT_EQ(registers, s.registers) << static_cpu_template_name(s.t);
    EXPECT_EQ(t->msr_modifiers.size(), s.msrs) << static_cpu_template_name(s.t);
  }
}

// T2S pins IA32_ARCH_CAPABILITIES whole; T2CL clears some of its bits and keeps the others.
TEST(CpuTemplate, ArchCapabilitiesMsr) {
  const std::map<uint32_t, uint64_t> current = {{0x10a, 0xffffffffffffffffull}};
  auto t2s = static_cpu_template(StaticCpuTemplate::kT2S, kCascadeLake);
  ASSERT_TRUE(t2s.ok());
  auto m = apply_msr_template(current, *t2s);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].index, 0x10au);
  EXPECT_EQ((*m)[0].data, 0x0c080c4cull);
  auto t2cl = static_cpu_template(StaticCpuTemplate::kT2CL, kCascadeLake);
  ASSERT_TRUE(t2cl.ok());
  auto cl = apply_msr_template(current, *t2cl);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ((*cl)[0].data, ~0xffffffffe2f51e00ull);
  // KVM without the MSR: refused with Firecracker's text.
  auto missing = apply_msr_template({}, *t2s);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Template changes an MSR entry not supported by KVM: Register Address: 10a");
}

TEST(CpuTemplate, CustomModifiersAndTheirErrors) {
  CustomCpuTemplate t;
  t.cpuid_modifiers.push_back(CpuidLeafModifier{
      0x1, 0x0, 0, {{CpuidRegister::kEcx, {0b1001, 0b0001}}, {CpuidRegister::kEdx, {0xff, 0x0f}}}});
  auto v = apply_cpuid_template({entry(1, 0, 7, 7, 0b0110, 0xabcd)}, t);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].ecx, 0b0111u);
  EXPECT_EQ((*v)[0].edx, 0xab0fu);
  EXPECT_EQ((*v)[0].eax, 7u);

  // A leaf KVM does not report: nothing is applied, Firecracker's text (hex without 0x).
  t.cpuid_modifiers.push_back(CpuidLeafModifier{0x8000001f, 0x2, 0, {{CpuidRegister::kEax, {1, 1}}}});
  const std::vector<kvm_cpuid_entry2> before = {entry(1, 0, 7, 7, 0b0110, 0xabcd)};
  auto missing = apply_cpuid_template(before, t);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Template changes a CPUID entry not supported by KVM: Leaf: 8000001f, Subleaf: 2");

  CustomCpuTemplate caps;
  caps.kvm_capabilities = {{171, false}, {172, false}, {171, true}, {5, true}};
  EXPECT_EQ(added_kvm_capabilities(caps), std::vector<uint32_t>{172});
}

}  // namespace
}  // namespace ember
