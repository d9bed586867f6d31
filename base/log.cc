#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

// base/CMakeLists.txt defines it; a build that compiles this file on its own (the fuzz
// targets, tests/fuzz/run_fuzz.sh) goes without.
#ifndef EMBER_SOURCE_ROOT
#define EMBER_SOURCE_ROOT ""
#endif

namespace ember {
namespace {

constexpr std::string_view kSourceRoot = EMBER_SOURCE_ROOT;

struct LoggerState {
  std::mutex lock;
  std::string instance_id = "anonymous-instance";
  std::atomic<int> max_level{static_cast<int>(LogLevel::kInfo)};
  std::atomic<int> fd{STDERR_FILENO};
  std::atomic<bool> show_level{true};
  std::atomic<bool> show_origin{false};
  std::string module;  // under `lock`; empty: no filter
};

LoggerState& state() {
  static LoggerState s;
  return s;
}

thread_local std::string t_thread_name = "main";

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kOff: return "OFF";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kDebug: return "DEBUG";
  }
  return "?";
}

// The compiler names a source as the build gave it: an absolute path, or one relative to the
// build directory (ccache's base_dir rewrites it so). This file is base/log.cc from the root, so
// whatever precedes that in its own name precedes every other source's name too.
std::string_view root_prefix() {
  static const std::string_view prefix = [] {
    const std::string_view self = __builtin_FILE();
    constexpr std::string_view kSelf = "base/log.cc";
    return self.ends_with(kSelf) ? self.substr(0, self.size() - kSelf.size()) : std::string_view{};
  }();
  return prefix;
}

}  // namespace

std::string_view log_origin_path(const char* file_name) {
  std::string_view path = file_name != nullptr ? file_name : "?";
  const std::string_view prefix = root_prefix();
  if (!prefix.empty() && path.starts_with(prefix)) {
    path.remove_prefix(prefix.size());
    return path;
  }
  // A source named another way than this file (a compiler cache may hand back an object built
  // with relative names while this one was built with absolute ones, or the reverse): the
  // source root as configured, or a build directory's "../" in front of the root's folders.
  if (!kSourceRoot.empty() && path.starts_with(kSourceRoot)) path.remove_prefix(kSourceRoot.size());
  while (path.starts_with("../")) path.remove_prefix(3);
  return path;
}

void log_set_show_level(bool show) { state().show_level = show; }
void log_set_show_origin(bool show) { state().show_origin = show; }
void log_set_module(std::string prefix) {
  std::lock_guard<std::mutex> g(state().lock);
  state().module = std::move(prefix);
}

void log_configure(std::string instance_id, LogLevel max_level) {
  std::lock_guard<std::mutex> g(state().lock);
  state().instance_id = std::move(instance_id);
  state().max_level = static_cast<int>(max_level);
}

void log_set_fd(int fd) { state().fd = fd; }

void log_set_thread_name(std::string name) { t_thread_name = std::move(name); }

bool parse_log_level(std::string_view text, LogLevel* out) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "off") *out = LogLevel::kOff;
  else if (t == "error") *out = LogLevel::kError;
  else if (t == "warning" || t == "warn") *out = LogLevel::kWarn;
  else if (t == "info") *out = LogLevel::kInfo;
  else if (t == "debug" || t == "trace") *out = LogLevel::kDebug;
  else return false;
  return true;
}

void log_line(LogLevel level, std::string_view message, const char* file, unsigned line_number) {
  if (static_cast<int>(level) > state().max_level) return;
  const std::string_view origin = log_origin_path(file);
  // UTC by calendar arithmetic (<chrono>), not gmtime_r: glibc's first gmtime_r in a process
  // reads the time zone (it opens /etc/localtime), and a thread confined by seccomp that logs
  // before any other thread has would die of that open.
  using namespace std::chrono;
  const auto now = time_point_cast<nanoseconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day date{day};
  const hh_mm_ss<nanoseconds> time{now - day};
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09lld", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()), static_cast<long long>(time.subseconds().count()));
  std::string line;
  {
    std::lock_guard<std::mutex> g(state().lock);
    // Firecracker drops a line whose module path does not start with the filter.
    if (!origin.starts_with(state().module)) return;
    line = std::string(ts) + " [" + state().instance_id + ":" + t_thread_name;
  }
  // Firecracker's order: level, then origin, each after a ':' (logging.rs, Logger::log).
  if (state().show_level) {
    line.push_back(':');
    line.append(level_name(level));
  }
  if (state().show_origin) {
    line.push_back(':');
    line.append(origin);
    line.push_back(':');
    line.append(std::to_string(line_number));
  }
  line.append("] ");
  line.append(message);
  line.push_back('\n');
  // One write per line keeps lines from different threads whole.
  ssize_t unused = ::write(state().fd, line.data(), line.size());
  (void)unused;
}

}  // namespace ember
