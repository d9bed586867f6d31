// Writing a file so that it either appears whole under its name or not at all: a temporary
// name in the same folder, fsync, rename, fsync of the folder. A crash, a full disk or an
// error half way leaves no file that looks valid, and an older file of that name stays intact
// until the new one is complete.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"

namespace ember {

// `fill` writes the contents to the fd it gets (a new, empty regular file).
[[nodiscard]] Result<void> write_file_atomically(const std::string& path,
                                                 const std::function<Result<void>(int fd)>& fill);

// write(2) until all `size` bytes are out, at `offset` (pwrite), naming `what` on failure.
[[nodiscard]] Result<void> write_all_at(int fd, const void* data, size_t size, uint64_t offset,
                                        const std::string& what);

}  // namespace ember
