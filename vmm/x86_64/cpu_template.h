// CPU templates on x86_64 (config/cpu_template.h holds the model): the static templates as data,
// the check that a static template fits the host CPU, and applying a template to the CPUID KVM
// supports before each vCPU's CPUID is normalized (vmm/x86_64/cpuid.h), as Firecracker does
// (arch/x86_64/mod.rs: template first, then per-vCPU normalization).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/cpu_template.h"

namespace ember {

// What decides whether a static template fits: the vendor string of CPUID leaf 0 and the
// version information of leaf 1 EAX (family, model, stepping).
struct HostCpu {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  uint32_t leaf1_eax = 0;
};

// This machine's CPU, read with the CPUID instruction.
[[nodiscard]] HostCpu host_cpu();

// The modifiers of a static template (Firecracker v1.16.1 static_cpu_templates/*.rs, the same
// values), or an error with Firecracker's text when the template does not fit `host`:
// "CPU vendor mismatched between actual CPU and CPU template." or "The current CPU model is not
// permitted to apply the CPU template.". C3, T2, T2S, T2CL need an Intel Skylake, Cascade Lake or
// Ice Lake (as each allows), T2A an AMD Milan. kNone is an internal error (there is nothing to get).
[[nodiscard]] Result<CustomCpuTemplate> static_cpu_template(StaticCpuTemplate t, const HostCpu& host);

// The template to apply for a configuration: the custom one, else the static one (checked
// against `host`), else an empty one. Errors are prefixed "Failed to get CPU template: ".
[[nodiscard]] Result<CustomCpuTemplate> resolve_cpu_template(StaticCpuTemplate static_template,
                                                             const CustomCpuTemplate* custom, const HostCpu& host);

// The template's CPUID modifiers applied to `cpuid` (each modified leaf/subleaf must exist:
// "Template changes a CPUID entry not supported by KVM: Leaf: <hex>, Subleaf: <hex>"). Nothing is
// changed on error (the result is a new vector).
[[nodiscard]] Result<std::vector<kvm_cpuid_entry2>> apply_cpuid_template(const std::vector<kvm_cpuid_entry2>& cpuid,
                                                                         const CustomCpuTemplate& t);

// The template's MSR modifiers applied to `current` (index -> the value KVM reads, for the
// indices of the template's modifiers): every modified MSR must be there ("Template changes an
// MSR entry not supported by KVM: Register Address: <hex>").
[[nodiscard]] Result<std::vector<kvm_msr_entry>> apply_msr_template(const std::map<uint32_t, uint64_t>& current,
                                                                    const CustomCpuTemplate& t);

// The capabilities the template adds ("171"), in order; KVM must support each
// ("Missing KVM capabilities: 0x<hex>").
[[nodiscard]] std::vector<uint32_t> added_kvm_capabilities(const CustomCpuTemplate& t);

}  // namespace ember
