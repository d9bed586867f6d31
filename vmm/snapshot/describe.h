// What Firecracker's `--snapshot-version` and `--describe-snapshot FILE` print, for ember's own
// state file format (snapshot/state_file.h). Firecracker prints "v<semver>" of its snapshot data
// format (src/firecracker/src/main.rs, v1.16.1: "v10.0.0"); ember's format has a single version
// number, printed as "v<N>.0.0" so that clients parsing Firecracker's shape read it. The numbers
// are ember's, not Firecracker's: neither loads the other's files.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace ember {

// "v<version>.0.0".
[[nodiscard]] std::string snapshot_version_string(uint32_t version);

// The format version this ember writes, in that shape.
[[nodiscard]] std::string supported_snapshot_version();

// The format version recorded in the state file at `path`. Reads the 24-byte header only (like
// Firecracker's get_format_version, neither the payload nor the CRC is read), so a state file of
// a version this ember cannot load is still described.
// A missing, unreadable, non-regular, empty, truncated or foreign file is an Error saying which.
[[nodiscard]] Result<uint32_t> read_snapshot_format_version(const std::string& path);

}  // namespace ember
