// The guest-memory file of a snapshot: the VM's memory regions back to back, in region order,
// with no header (the state file records the layout). Pages that are zero may be holes. A diff
// memory file has the same size and holds only the pages written since the previous snapshot;
// every other page is a hole, so the file system must keep sparse files (checked on writing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember {

class GuestMemory;

inline constexpr uint64_t kMemoryPageSize = 4096;

// A bitmap per memory region, one bit per 4 KiB page (bit i of word i/64), as KVM's dirty log.
using DirtyBitmaps = std::vector<std::vector<uint64_t>>;

// Written atomically (snapshot/atomic_file.h).
[[nodiscard]] Result<void> write_memory_file(const std::string& path, const GuestMemory& mem);
[[nodiscard]] Result<void> write_memory_diff_file(const std::string& path, const GuestMemory& mem,
                                                  const DirtyBitmaps& dirty);
// Copies every data range of the diff onto the base in place (same sizes), so the base becomes
// what a full snapshot taken with the diff would have written.
[[nodiscard]] Result<void> apply_memory_diff(const std::string& base_path, const std::string& diff_path);

}  // namespace ember
