// --resource-limit: the rlimits the jailer sets (soft and hard alike, in the end) before it execs
// the target, so that the jailed process can never raise them again.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"

namespace ember::jailer {

// Without --resource-limit no-file=N the jail allows this many open files (Firecracker's default).
inline constexpr uint64_t kDefaultNoFile = 2048;

struct ResourceLimits {
  std::optional<uint64_t> fsize;  // RLIMIT_FSIZE in bytes; unset: inherited
  uint64_t no_file = kDefaultNoFile;  // RLIMIT_NOFILE
  bool no_file_given = false;
};

// Parses one "<resource>=<value>" (fsize=N or no-file=N, N decimal) into `limits`. A resource
// given twice is refused rather than silently overridden.
[[nodiscard]] Result<void> parse_resource_limit(std::string_view text, ResourceLimits* limits);

// A decimal number that fits in 64 bits: digits only, no sign, no spaces.
[[nodiscard]] Result<uint64_t> parse_decimal_u64(std::string_view text);

// Sets every soft limit to its value, so that it binds the jailer's own work from here on. The
// hard limit stays as it is (so that an undo can raise the soft one again without privilege)
// unless the value is above it, in which case it is raised to the value.
[[nodiscard]] Result<void> apply_resource_limits(const ResourceLimits& limits);

// Right before exec: every hard limit down to its value too (always allowed), so that the exec'd
// program can never raise them.
[[nodiscard]] Result<void> lock_resource_limits(const ResourceLimits& limits);

// The limits apply_resource_limits() changes, as they are now, to put back after a failure: the
// soft limit goes up to a hard limit that was kept, or a raised hard limit comes down.
class SavedResourceLimits {
 public:
  [[nodiscard]] static Result<SavedResourceLimits> save();
  [[nodiscard]] Result<void> restore() const;

 private:
  uint64_t fsize_cur_ = 0, fsize_max_ = 0, no_file_cur_ = 0, no_file_max_ = 0;
};

}  // namespace ember::jailer
