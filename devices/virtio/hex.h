// Hexadecimal formatting for virtio error messages (guest addresses read like the spec's).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace ember::virtio {

[[nodiscard]] inline std::string to_hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace ember::virtio
