// Reading a device's device-specific configuration space (virtio-mmio registers from 0x100 on,
// §4.2.2; the layouts are each device's, e.g. §5.2.4 for block). The driver may read at any
// offset and width: the bytes past the end of the device's layout, and those an offset that
// wraps around 2^64 points at, read as zero.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

namespace ember {

// Fills `data` with the bytes of `config` from `offset` on.
inline void read_config_space(std::span<const uint8_t> config, uint64_t offset,
                              std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (offset >= config.size()) return;
  // offset < config.size(): neither the subtraction nor offset + n can wrap.
  const size_t n = std::min<size_t>(config.size() - static_cast<size_t>(offset), data.size());
  if (n != 0) std::memcpy(data.data(), config.data() + offset, n);
}

}  // namespace ember
