#include "vmm/seccomp/syscall_names.h"

#include <seccomp.h>

#include <string>

namespace ember::seccomp {

std::optional<int> syscall_number(std::string_view name) {
  // A name with a NUL inside would be cut short by the C interface and match another call.
  if (name.empty() || name.find('\0') != std::string_view::npos) return std::nullopt;
  const int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
  // Negative: unknown (__NR_SCMP_ERROR), or a pseudo number for a call other architectures have
  // but x86-64 does not (socketcall, say).
  if (nr < 0) return std::nullopt;
  return nr;
}

}  // namespace ember::seccomp
