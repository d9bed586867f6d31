// Process-wide logger. Line format follows Firecracker's (src/vmm/src/logger/logging.rs):
//   <UTC timestamp> [<instance id>:<thread name>[:<LEVEL>][:<file>:<line>]] <message>
// where the level shows with show_level and the call site's file:line with show_origin.
#pragma once

#include <string>
#include <string_view>

namespace ember {

enum class LogLevel { kOff = -1, kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Sets the instance id shown on every line and the highest level printed.
void log_configure(std::string instance_id, LogLevel max_level);
// Sends lines to `fd` (stderr by default). The fd is not owned.
void log_set_fd(int fd);
// Names the calling thread in its log lines ("main", "vcpu0", ...).
void log_set_thread_name(std::string name);
// Parses "Error", "Warning", "Info", "Debug" (any case; "warn" too).
[[nodiscard]] bool parse_log_level(std::string_view text, LogLevel* out);

// Firecracker's show_level / show_log_origin (PUT /logger, --show-level, --show-log-origin).
// The level shows by default (ember's own format); Firecracker's personality turns it off.
void log_set_show_level(bool show);
void log_set_show_origin(bool show);
// Firecracker's `module` filter: only lines whose origin starts with `prefix` are written.
// Firecracker matches Rust module paths (`vmm::devices`); ember matches the origin's source path
// relative to the repository root (`devices/virtio`). An empty prefix lets every line through.
void log_set_module(std::string prefix);
// The origin as a line shows it: the source path relative to the repository root.
[[nodiscard]] std::string_view log_origin_path(const char* file_name);

// The call site's file and line come in through defaulted arguments (for show_origin and
// module). Not std::source_location: the fuzz targets are built by clang 14, whose libstdc++
// <source_location> is empty; __builtin_FILE/__builtin_LINE as default arguments name the
// caller in both compilers (only as the default argument itself, not inside another expression).
void log_line(LogLevel level, std::string_view message, const char* file = __builtin_FILE(),
              unsigned line = __builtin_LINE());
inline void log_error(std::string_view m, const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
  log_line(LogLevel::kError, m, file, line);
}
inline void log_warn(std::string_view m, const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
  log_line(LogLevel::kWarn, m, file, line);
}
inline void log_info(std::string_view m, const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
  log_line(LogLevel::kInfo, m, file, line);
}
inline void log_debug(std::string_view m, const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
  log_line(LogLevel::kDebug, m, file, line);
}

}  // namespace ember
