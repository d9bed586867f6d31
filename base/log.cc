#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace ember {
namespace {

struct LoggerState {
  std::mutex lock;
  std::string instance_id = "anonymous-instance";
  std::atomic<int> max_level{static_cast<int>(LogLevel::kInfo)};
  std::atomic<int> fd{STDERR_FILENO};
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

}  // namespace

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

void log_line(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) > state().max_level) return;
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
    line = std::string(ts) + " [" + state().instance_id + ":" + t_thread_name + ":" +
           level_name(level) + "] ";
  }
  line.append(message);
  line.push_back('\n');
  // One write per line keeps lines from different threads whole.
  ssize_t unused = ::write(state().fd, line.data(), line.size());
  (void)unused;
}

}  // namespace ember
