// System call names, as libseccomp knows them, for the native architecture (x86-64).
#pragma once

#include <optional>
#include <string_view>

namespace ember::seccomp {

// The x86-64 number of the call named `name` ("openat"), or nothing when x86-64 has no such call.
[[nodiscard]] std::optional<int> syscall_number(std::string_view name);

}  // namespace ember::seccomp
