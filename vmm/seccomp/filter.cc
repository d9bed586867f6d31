#include "vmm/seccomp/filter.h"

namespace ember::seccomp {

std::string_view thread_kind_name(ThreadKind kind) {
  switch (kind) {
    case ThreadKind::kVmm: return "vmm";
    case ThreadKind::kApi: return "api";
    case ThreadKind::kVcpu: return "vcpu";
  }
  return "?";
}

const Filter& FilterSet::of(ThreadKind kind) const {
  switch (kind) {
    case ThreadKind::kApi: return api;
    case ThreadKind::kVcpu: return vcpu;
    case ThreadKind::kVmm: break;
  }
  return vmm;
}

}  // namespace ember::seccomp
