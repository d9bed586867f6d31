// Process-wide logger. Line format follows Firecracker's:
//   <UTC timestamp> [<instance id>:<thread name>:<level>] <message>
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

void log_line(LogLevel level, std::string_view message);
inline void log_error(std::string_view m) { log_line(LogLevel::kError, m); }
inline void log_warn(std::string_view m) { log_line(LogLevel::kWarn, m); }
inline void log_info(std::string_view m) { log_line(LogLevel::kInfo, m); }
inline void log_debug(std::string_view m) { log_line(LogLevel::kDebug, m); }

}  // namespace ember
