// Hexadecimal formatting for the loader's error messages (addresses and sizes read like the specs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace ember::loader {

[[nodiscard]] inline std::string to_hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace ember::loader
