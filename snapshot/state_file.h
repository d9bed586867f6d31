// The snapshot state file: a fixed header, the payload, and a CRC-64 over both.
//
//   offset  size  field
//   0       8     magic "EMBERSNP"
//   8       4     format version (kSnapshotFormatVersion)
//   12      4     reserved, 0
//   16      8     payload size N
//   24      N     payload (what snapshot/microvm_state encodes)
//   24+N    8     CRC-64/XZ of bytes [0, 24+N)
//
// All integers little-endian. A file of another format version is refused by name, never
// guessed at.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember {

inline constexpr uint32_t kSnapshotFormatVersion = 1;
// The first bytes of every state file; vmm/snapshot/describe.cc reads them back alone.
inline constexpr char kStateFileMagic[8] = {'E', 'M', 'B', 'E', 'R', 'S', 'N', 'P'};
// Far above any real state (vCPU states are a few KiB each), low enough that a forged header
// cannot make ember read gigabytes.
inline constexpr uint64_t kMaxSnapshotPayload = 64ull << 20;

// The whole file's bytes, for a payload.
[[nodiscard]] std::vector<uint8_t> encode_state_file(std::span<const uint8_t> payload,
                                                     uint32_t version = kSnapshotFormatVersion);
// Checks size, magic, version and CRC; returns the payload.
[[nodiscard]] Result<std::vector<uint8_t>> decode_state_file(std::span<const uint8_t> file);

// Written atomically (snapshot/atomic_file.h).
[[nodiscard]] Result<void> write_state_file(const std::string& path, std::span<const uint8_t> payload);
[[nodiscard]] Result<std::vector<uint8_t>> read_state_file(const std::string& path);

}  // namespace ember
