// CRC-64/XZ (the ECMA-182 polynomial, reflected, init and xorout all ones): the checksum that
// ends every ember snapshot state file.
#pragma once

#include <cstdint>
#include <span>

namespace ember {

// `crc` is the value returned for the bytes before `data` (start with 0), so a long input can
// be checksummed piece by piece.
[[nodiscard]] uint64_t crc64(std::span<const uint8_t> data, uint64_t crc = 0);

}  // namespace ember
