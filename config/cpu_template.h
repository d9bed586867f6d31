// CPU templates: what the guest's CPUID and MSRs are changed to, as Firecracker v1.16 models them
// (docs/cpu_templates/cpu-templates.md). A static template (machine-config.cpu_template: C3, T2,
// T2S, T2CL, T2A) is a named, built-in set of modifiers; a custom template (PUT /cpu-config, or
// the config file's "cpu-config") is the same shape given by the user. Plain data: the tables of
// the static templates and the applying live in vmm/x86_64/cpu_template.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ember {

// Firecracker's StaticCpuTemplate; kNone is "no template".
enum class StaticCpuTemplate { kNone, kC3, kT2, kT2S, kT2CL, kT2A };

// The API's spelling ("C3", "T2", "T2S", "T2CL", "T2A", "None").
[[nodiscard]] std::string_view static_cpu_template_name(StaticCpuTemplate t);
// The template of an API spelling (case matters, as with serde); nullopt for anything else.
[[nodiscard]] std::optional<StaticCpuTemplate> static_cpu_template_from_name(std::string_view name);

// One register's change: the bits set in `filter` take their value from `value`, the others keep
// the value KVM gave (Firecracker's RegisterValueFilter; JSON "0b10x1": 1 and 0 are filtered,
// x is kept). `value` has no bit outside `filter`.
template <class V>
struct RegisterValueFilter {
  V filter = 0;
  V value = 0;
  [[nodiscard]] V apply(V current) const { return static_cast<V>((current & ~filter) | value); }
  bool operator==(const RegisterValueFilter&) const = default;
};

enum class CpuidRegister { kEax, kEbx, kEcx, kEdx };

struct CpuidRegisterModifier {
  CpuidRegister reg = CpuidRegister::kEax;
  RegisterValueFilter<uint32_t> bitmap;
  bool operator==(const CpuidRegisterModifier&) const = default;
};

// The changes to one CPUID leaf/subleaf; `flags` replaces the entry's KVM_CPUID_FLAG_* bits.
struct CpuidLeafModifier {
  uint32_t leaf = 0;
  uint32_t subleaf = 0;
  uint32_t flags = 0;
  std::vector<CpuidRegisterModifier> modifiers;
  bool operator==(const CpuidLeafModifier&) const = default;
};

struct MsrModifier {
  uint32_t addr = 0;
  RegisterValueFilter<uint64_t> bitmap;
  bool operator==(const MsrModifier&) const = default;
};

// "171" asks KVM for capability 171 (checked at InstanceStart), "!171" drops it from what the
// VMM requires.
struct KvmCapabilityModifier {
  uint32_t capability = 0;
  bool remove = false;
  bool operator==(const KvmCapabilityModifier&) const = default;
};

// Firecracker's x86_64 CustomCpuTemplate.
struct CustomCpuTemplate {
  std::vector<KvmCapabilityModifier> kvm_capabilities;
  std::vector<CpuidLeafModifier> cpuid_modifiers;
  std::vector<MsrModifier> msr_modifiers;
  bool operator==(const CustomCpuTemplate&) const = default;
};

}  // namespace ember
