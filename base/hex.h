// Addresses and sizes in error messages and logs: "0x1000000".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace ember {

[[nodiscard]] inline std::string to_hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace ember
