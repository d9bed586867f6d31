#include "config/cpu_template.h"

namespace ember {
namespace {

struct Named {
  std::string_view name;
  StaticCpuTemplate value;
};
// Firecracker's serde names of StaticCpuTemplate.
constexpr Named kNames[] = {{"C3", StaticCpuTemplate::kC3},     {"T2", StaticCpuTemplate::kT2},
                            {"T2S", StaticCpuTemplate::kT2S},   {"None", StaticCpuTemplate::kNone},
                            {"T2CL", StaticCpuTemplate::kT2CL}, {"T2A", StaticCpuTemplate::kT2A}};

}  // namespace

std::string_view static_cpu_template_name(StaticCpuTemplate t) {
  for (const Named& n : kNames)
    if (n.value == t) return n.name;
  return "None";
}

std::optional<StaticCpuTemplate> static_cpu_template_from_name(std::string_view name) {
  for (const Named& n : kNames)
    if (n.name == name) return n.value;
  return std::nullopt;
}

}  // namespace ember
