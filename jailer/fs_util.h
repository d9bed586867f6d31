// Small file-system helpers of the jailer: whole-file reads of /proc and cgroup files (which
// report no useful size), single writes, and mkdir -p that says which levels it created.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember::jailer {

// Reads until end of file, refusing more than max_size bytes.
[[nodiscard]] Result<std::string> read_text_file(const std::string& path, size_t max_size);

// Writes `text` to an existing file in one write(2): cgroup files take one value per write.
[[nodiscard]] Result<void> write_existing_file(const std::string& path, const std::string& text);

// True when something (anything, even a dangling symlink) exists at `path`.
[[nodiscard]] bool path_exists(const std::string& path);

// True when `path` is a directory (not a symlink to one) that holds nothing.
[[nodiscard]] bool is_empty_directory(const std::string& path);

// Creates `path` and any missing parents, each with `mode` (umask aside). Returns the
// directories it created, outermost first, so that a caller can undo exactly that; on failure it
// removes what it had created before returning the error.
[[nodiscard]] Result<std::vector<std::string>> make_directories(const std::string& path, mode_t mode);

}  // namespace ember::jailer
