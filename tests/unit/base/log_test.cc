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

}  // namespace
}  // namespace ember
