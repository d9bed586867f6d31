#include "base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <regex>
#include <string>

namespace ember {
namespace {

// A line's stamp is UTC as ISO 8601 with nanoseconds, computed without the C library's time
// zone code (log.cc says why): it must agree with gmtime_r.
TEST(Log, LineStartsWithTheUtcTimeToTheNanosecond) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::time_t before = std::time(nullptr);
  log_set_fd(fds[1]);
  log_line(LogLevel::kError, "stamp check");
  log_set_fd(STDERR_FILENO);
  const std::time_t after = std::time(nullptr);
  char buf[512];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_GT(n, 0);
  const std::string line(buf, static_cast<size_t>(n));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{9} \[.*:ERROR\] stamp check\n$)")))
      << line;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  const std::time_t stamped = ::timegm(&tm);
  EXPECT_GE(stamped, before) << line;
  EXPECT_LE(stamped, after) << line;
}

// Captures the lines logged while it lives, and puts the logger's settings back after.
class LogCapture {
 public:
  LogCapture() {
    EXPECT_EQ(::pipe(fds_), 0);
    log_set_fd(fds_[1]);
  }
  ~LogCapture() {
    log_set_fd(STDERR_FILENO);
    log_set_show_level(true);
    log_set_show_origin(false);
    log_set_module("");
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // What was logged so far (the pipe holds far more than these tests write).
  std::string text() {
    log_set_fd(STDERR_FILENO);
    ::close(fds_[1]);
    fds_[1] = -1;
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
};

// The part after the stamp: "[<id>:<thread>...] <message>\n".
std::string tag_and_message(const std::string& line) {
  const size_t space = line.find(' ');
  return space == std::string::npos ? line : line.substr(space + 1);
}

// Firecracker's LogFormat: level and origin each optional, level first (logging.rs; its test
// expects "[<id>:<thread>:ERROR:dir/app.rs:200] Error!").
TEST(Log, ShowLevelAndOriginInEachCombination) {
  log_configure("fmt-test", LogLevel::kInfo);
  struct Case {
    bool level, origin;
    std::string expected_prefix;
  };
  const int line = __LINE__ + 9;  // the log_warn below
  const std::string origin = ":tests/unit/base/log_test.cc:" + std::to_string(line);
  for (const Case& c : {Case{true, true, "[fmt-test:main:WARN" + origin + "] "},
                        Case{true, false, "[fmt-test:main:WARN] "},
                        Case{false, true, "[fmt-test:main" + origin + "] "},
                        Case{false, false, "[fmt-test:main] "}}) {
    LogCapture capture;
    log_set_show_level(c.level);
    log_set_show_origin(c.origin);
    log_warn("format check");
    EXPECT_EQ(tag_and_message(capture.text()), c.expected_prefix + "format check\n")
        << "show_level " << c.level << " show_origin " << c.origin;
  }
  log_configure("anonymous-instance", LogLevel::kInfo);
}

// The origin is the call site (each helper's defaulted file and line), as a path from the
// repository root with at least one '/' (Firecracker's test matches "[^:]+/[^:]+:[0-9]+").
TEST(Log, OriginIsTheCallSiteRelativeToTheRepositoryRoot) {
  LogCapture capture;
  log_set_show_origin(true);
  const int first = __LINE__ + 1;
  log_error("e");
  log_info("i");
  const std::string text = capture.text();
  EXPECT_NE(text.find(":ERROR:tests/unit/base/log_test.cc:" + std::to_string(first) + "] e\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find(":INFO:tests/unit/base/log_test.cc:" + std::to_string(first + 1) + "] i\n"), std::string::npos)
      << text;
  EXPECT_EQ(log_origin_path(__builtin_FILE()), "tests/unit/base/log_test.cc");
}

// Firecracker's module filter keeps the lines whose origin starts with it; ember's origin is the
// source path, so the filter is a path prefix.
TEST(Log, ModuleFilterKeepsOnlyLinesFromThatPathPrefix) {
  {
    LogCapture capture;
    log_set_module("tests/unit/base");
    log_info("kept");
    EXPECT_NE(capture.text().find("] kept\n"), std::string::npos);
  }
  {
    LogCapture capture;
    log_set_module("devices/virtio");
    log_info("dropped");
    log_error("dropped too");  // the filter applies whatever the level
    EXPECT_EQ(capture.text(), "");
  }
  {
    LogCapture capture;
    log_set_module("devices/virtio");
    log_set_module("");  // an empty filter lets everything through again
    log_info("back");
    EXPECT_NE(capture.text().find("] back\n"), std::string::npos);
  }
}

// The level filter still applies under every format.
TEST(Log, LevelFilterIndependentOfFormat) {
  log_configure("anonymous-instance", LogLevel::kError);
  LogCapture capture;
  log_set_show_level(false);
  log_warn("hidden");
  log_error("shown");
  EXPECT_EQ(tag_and_message(capture.text()), "[anonymous-instance:main] shown\n");
  log_configure("anonymous-instance", LogLevel::kInfo);
}

}  // namespace
}  // namespace ember
