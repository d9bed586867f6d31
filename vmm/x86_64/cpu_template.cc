#include "vmm/x86_64/cpu_template.h"

#include <cpuid.h>

#include <cstdio>
#include <cstring>
#include <span>

namespace ember {
namespace {

using R = CpuidRegister;

// One register modifier of a static template: leaf, subleaf, KVM_CPUID_FLAG_* bits, register,
// filter (the bits the template decides) and value. Rows of one leaf/subleaf are adjacent.
struct CpuidRow {
  uint32_t leaf;
  uint32_t subleaf;
  uint32_t flags;
  CpuidRegister reg;
  uint32_t filter;
  uint32_t value;
};
struct MsrRow {
  uint32_t addr;
  uint64_t filter;
  uint64_t value;
};

// The values of Firecracker v1.16.1's static templates (src/vmm/src/cpu_config/x86_64/
// static_cpu_templates/), register by register. In short: leaf 1 EAX poses as a Skylake (C3,
// 0x306e4) or Haswell (T2*, 0x306f2) family/model; the feature bits of leaves 1, 7, 0xd,
// 0x80000001 and 0x80000008 that those instance types lack are cleared. T2S pins
// IA32_ARCH_CAPABILITIES (MSR 0x10a) to a fixed value; T2CL clears the bits of it a guest must not
// see.
// C3: static_cpu_templates/c3.rs
constexpr CpuidRow kC3Cpuid[] = {
    {0x1, 0x0, 0, R::kEax, 0x0fff3fff, 0x000306e4},
    {0x1, 0x0, 0, R::kEcx, 0x0040dd3c, 0x00000000},
    {0x1, 0x0, 0, R::kEdx, 0xa8641080, 0x00001080},
    {0x7, 0x0, 1, R::kEbx, 0xffafdd3c, 0x00000000},
    {0x7, 0x0, 1, R::kEcx, 0x4041481e, 0x00000000},
    {0x7, 0x0, 1, R::kEdx, 0x0000000c, 0x00000000},
    {0xd, 0x0, 1, R::kEax, 0x000002f8, 0x00000000},
    {0xd, 0x1, 1, R::kEax, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, R::kEcx, 0x00000120, 0x00000000},
    {0x80000001, 0x0, 0, R::kEdx, 0x04000000, 0x00000000},
};
// T2: static_cpu_templates/t2.rs
constexpr CpuidRow kT2Cpuid[] = {
    {0x1, 0x0, 0, R::kEax, 0x0fff3fff, 0x000306f2},
    {0x1, 0x0, 0, R::kEcx, 0x0004cdfc, 0x00000000},
    {0x1, 0x0, 0, R::kEdx, 0xe8641080, 0x00001080},
    {0x7, 0x0, 1, R::kEbx, 0xffefda14, 0x00000200},
    {0x7, 0x0, 1, R::kEcx, 0x40415f5e, 0x00000000},
    {0x7, 0x0, 1, R::kEdx, 0x0000011c, 0x00000000},
    {0xd, 0x0, 1, R::kEax, 0x000002f8, 0x00000000},
    {0xd, 0x1, 1, R::kEax, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, R::kEcx, 0x20000100, 0x00000000},
    {0x80000001, 0x0, 0, R::kEdx, 0x04000000, 0x00000000},
    {0x80000008, 0x0, 0, R::kEbx, 0x00000200, 0x00000000},
};
// T2S: static_cpu_templates/t2s.rs
constexpr CpuidRow kT2SCpuid[] = {
    {0x1, 0x0, 0, R::kEax, 0x0fff3fff, 0x000306f2},
    {0x1, 0x0, 0, R::kEcx, 0x0004cdfc, 0x00000000},
    {0x1, 0x0, 0, R::kEdx, 0xe8641080, 0x00001080},
    {0x7, 0x0, 1, R::kEbx, 0xffefda14, 0x00000200},
    {0x7, 0x0, 1, R::kEcx, 0x40415f5e, 0x00000000},
    {0x7, 0x0, 1, R::kEdx, 0x0000011c, 0x00000000},
    {0xd, 0x0, 1, R::kEax, 0x000002f8, 0x00000000},
    {0xd, 0x1, 1, R::kEax, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, R::kEcx, 0x20000100, 0x00000000},
    {0x80000001, 0x0, 0, R::kEdx, 0x04000000, 0x00000000},
    {0x80000008, 0x0, 0, R::kEbx, 0x00000200, 0x00000000},
};
constexpr MsrRow kT2SMsrs[] = {
    {0x10a, 0xffffffffffffffff, 0x000000000c080c4c},
};
// T2CL: static_cpu_templates/t2cl.rs
constexpr CpuidRow kT2CLCpuid[] = {
    {0x1, 0x0, 0, R::kEax, 0x0fff3fff, 0x000306f2},
    {0x1, 0x0, 0, R::kEcx, 0x0004cdfc, 0x00000000},
    {0x1, 0x0, 0, R::kEdx, 0xe8641080, 0x00001080},
    {0x7, 0x0, 1, R::kEbx, 0xffefda14, 0x00000200},
    {0x7, 0x0, 1, R::kEcx, 0x40415f5e, 0x00000000},
    {0x7, 0x0, 1, R::kEdx, 0x0000011c, 0x00000000},
    {0xd, 0x0, 1, R::kEax, 0x000002f8, 0x00000000},
    {0xd, 0x1, 1, R::kEax, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, R::kEcx, 0x200001c0, 0x00000000},
    {0x80000001, 0x0, 0, R::kEdx, 0x07c00000, 0x00000000},
    {0x80000008, 0x0, 0, R::kEbx, 0x00000200, 0x00000000},
};
constexpr MsrRow kT2CLMsrs[] = {
    {0x10a, 0xffffffffe2f51e00, 0x0000000000000000},
};
// T2A: static_cpu_templates/t2a.rs
constexpr CpuidRow kT2ACpuid[] = {
    {0x1, 0x0, 0, R::kEax, 0x0fff3fff, 0x000306f2},
    {0x1, 0x0, 0, R::kEcx, 0x0004cdfc, 0x00000000},
    {0x1, 0x0, 0, R::kEdx, 0xe8641080, 0x00001080},
    {0x7, 0x0, 1, R::kEbx, 0xffefda14, 0x00000200},
    {0x7, 0x0, 1, R::kEcx, 0x40415f5e, 0x00000000},
    {0x7, 0x0, 1, R::kEdx, 0x0000011c, 0x00000000},
    {0xd, 0x0, 1, R::kEax, 0x000002f8, 0x00000000},
    {0xd, 0x1, 1, R::kEax, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, R::kEcx, 0x200001c4, 0x00000000},
    {0x80000001, 0x0, 0, R::kEdx, 0x06400000, 0x00000000},
    {0x80000008, 0x0, 0, R::kEbx, 0x001c0205, 0x001c0004},
};

// Leaf 1 EAX of the CPU models the templates accept (Firecracker arch/x86_64/cpu_model.rs):
// extended family, extended model, family, model and stepping must all match.
constexpr uint32_t kFmsMask = 0x0fff0fff;
constexpr uint32_t kSkylake = 0x00050654;
constexpr uint32_t kCascadeLake = 0x00050657;
constexpr uint32_t kIceLake = 0x000606a6;
constexpr uint32_t kMilan = 0x00a00f11;

constexpr uint32_t kC3Models[] = {kSkylake, kCascadeLake, kIceLake};
constexpr uint32_t kT2Models[] = {kSkylake, kCascadeLake, kIceLake};
constexpr uint32_t kT2SModels[] = {kSkylake, kCascadeLake};
constexpr uint32_t kT2CLModels[] = {kCascadeLake, kIceLake};
constexpr uint32_t kT2AModels[] = {kMilan};

struct StaticTemplate {
  StaticCpuTemplate id;
  const char* vendor;
  std::span<const uint32_t> models;
  std::span<const CpuidRow> cpuid;
  std::span<const MsrRow> msrs;
};

const StaticTemplate kStaticTemplates[] = {
    {StaticCpuTemplate::kC3, "GenuineIntel", kC3Models, kC3Cpuid, {}},
    {StaticCpuTemplate::kT2, "GenuineIntel", kT2Models, kT2Cpuid, {}},
    {StaticCpuTemplate::kT2S, "GenuineIntel", kT2SModels, kT2SCpuid, kT2SMsrs},
    {StaticCpuTemplate::kT2CL, "GenuineIntel", kT2CLModels, kT2CLCpuid, kT2CLMsrs},
    {StaticCpuTemplate::kT2A, "AuthenticAMD", kT2AModels, kT2ACpuid, {}},
};

CustomCpuTemplate to_template(const StaticTemplate& s) {
  CustomCpuTemplate t;
  for (const CpuidRow& row : s.cpuid) {
    if (t.cpuid_modifiers.empty() || t.cpuid_modifiers.back().leaf != row.leaf ||
        t.cpuid_modifiers.back().subleaf != row.subleaf)
      t.cpuid_modifiers.push_back(CpuidLeafModifier{row.leaf, row.subleaf, row.flags, {}});
    t.cpuid_modifiers.back().modifiers.push_back(CpuidRegisterModifier{row.reg, {row.filter, row.value}});
  }
  for (const MsrRow& row : s.msrs) t.msr_modifiers.push_back(MsrModifier{row.addr, {row.filter, row.value}});
  return t;
}

std::string hex(uint64_t v) {
  char text[20];
  std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(v));
  return text;
}

uint32_t& register_of(kvm_cpuid_entry2& e, CpuidRegister r) {
  switch (r) {
    case CpuidRegister::kEax: return e.eax;
    case CpuidRegister::kEbx: return e.ebx;
    case CpuidRegister::kEcx: return e.ecx;
    case CpuidRegister::kEdx: return e.edx;
  }
  return e.eax;
}

}  // namespace

HostCpu host_cpu() {
  HostCpu host;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0, eax, ebx, ecx, edx);
  char vendor[12];
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  host.vendor.assign(vendor, sizeof(vendor));
  __cpuid(1, eax, ebx, ecx, edx);
  host.leaf1_eax = eax;
  return host;
}

Result<CustomCpuTemplate> static_cpu_template(StaticCpuTemplate t, const HostCpu& host) {
  for (const StaticTemplate& s : kStaticTemplates) {
    if (s.id != t) continue;
    // Firecracker's GetCpuTemplateError texts, in the order it checks.
    if (host.vendor != s.vendor) return make_error("CPU vendor mismatched between actual CPU and CPU template.");
    bool model_fits = false;
    for (uint32_t fms : s.models) model_fits = model_fits || (host.leaf1_eax & kFmsMask) == fms;
    if (!model_fits) return make_error("The current CPU model is not permitted to apply the CPU template.");
    return to_template(s);
  }
  return make_error(ErrorKind::kInternal, "Invalid static CPU template: None");
}

Result<CustomCpuTemplate> resolve_cpu_template(StaticCpuTemplate static_template, const CustomCpuTemplate* custom,
                                               const HostCpu& host) {
  if (custom != nullptr) return *custom;
  if (static_template == StaticCpuTemplate::kNone) return CustomCpuTemplate{};
  auto t = static_cpu_template(static_template, host);
  if (!t) return with_context("Failed to get CPU template", t.error());
  return t;
}

Result<std::vector<kvm_cpuid_entry2>> apply_cpuid_template(const std::vector<kvm_cpuid_entry2>& cpuid,
                                                           const CustomCpuTemplate& t) {
  std::vector<kvm_cpuid_entry2> out = cpuid;
  for (const CpuidLeafModifier& leaf : t.cpuid_modifiers) {
    kvm_cpuid_entry2* entry = nullptr;
    for (auto& e : out)
      if (e.function == leaf.leaf && e.index == leaf.subleaf) entry = &e;
    if (entry == nullptr)
      return make_error("Template changes a CPUID entry not supported by KVM: Leaf: " + hex(leaf.leaf) +
                        ", Subleaf: " + hex(leaf.subleaf));
    entry->flags = leaf.flags;
    for (const CpuidRegisterModifier& m : leaf.modifiers) {
      uint32_t& reg = register_of(*entry, m.reg);
      reg = m.bitmap.apply(reg);
    }
  }
  return out;
}

Result<std::vector<kvm_msr_entry>> apply_msr_template(const std::map<uint32_t, uint64_t>& current,
                                                      const CustomCpuTemplate& t) {
  std::map<uint32_t, uint64_t> values;
  for (const MsrModifier& m : t.msr_modifiers) {
    auto it = values.find(m.addr);
    if (it == values.end()) {
      auto read = current.find(m.addr);
      if (read == current.end())
        return make_error("Template changes an MSR entry not supported by KVM: Register Address: " + hex(m.addr));
      it = values.emplace(m.addr, read->second).first;
    }
    it->second = m.bitmap.apply(it->second);
  }
  std::vector<kvm_msr_entry> out;
  for (const auto& [index, value] : values) {
    kvm_msr_entry e{};
    e.index = index;
    e.data = value;
    out.push_back(e);
  }
  return out;
}

std::vector<uint32_t> added_kvm_capabilities(const CustomCpuTemplate& t) {
  // In order, as Firecracker combines them: a later "!N" cancels an earlier "N".
  std::vector<uint32_t> caps;
  for (const KvmCapabilityModifier& c : t.kvm_capabilities) {
    std::erase(caps, c.capability);
    if (!c.remove) caps.push_back(c.capability);
  }
  return caps;
}

}  // namespace ember
