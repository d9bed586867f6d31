// Reading whole files with clear errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember {

// Reads a regular file, refusing anything larger than max_size bytes.
[[nodiscard]] Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_size);

}  // namespace ember
