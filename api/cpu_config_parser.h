// The body of PUT /cpu-config and the config file's "cpu-config" object: Firecracker v1.16.1's
// x86_64 custom CPU template (firecracker-api-v1.16.1.yaml definitions/CpuConfig;
// docs/cpu_templates/cpu-templates.md):
//
//   {"kvm_capabilities": ["171", "!172"],
//    "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
//                         "modifiers": [{"register": "ecx", "bitmap": "0bxxxx0xxx..."}]}],
//    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b0000...1x"}]}
//
// leaf, subleaf and addr are strings with a "0x" or "0b" prefix; a bitmap is up to 32 (CPUID) or
// 64 (MSR) characters 0, 1 or x (x keeps KVM's bit), an optional "0b" prefix, '_' ignored, and
// the leftmost character is the highest bit given. Every field is checked before anything is
// returned; an error names the field ("cpu-config.cpuid_modifiers[0].modifiers[1].bitmap").
// aarch64's vcpu_features and reg_modifiers are refused on x86_64. Internal to api/.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "config/cpu_template.h"

namespace ember::api_detail {

[[nodiscard]] Result<CustomCpuTemplate> parse_cpu_config(const nlohmann::json& body);

// A bitmap string as above, for a register of `bits` bits (32 or 64).
[[nodiscard]] Result<RegisterValueFilter<uint64_t>> parse_bitmap(std::string_view text, unsigned bits);

}  // namespace ember::api_detail
