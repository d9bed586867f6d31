#include "devices/legacy/boot_timer.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <regex>
#include <string>

#include "tests/unit/devices/legacy/legacy_fakes.h"

namespace ember {
namespace {

using testing::LogCapture;
using testing::read_byte;
using testing::write_byte;

BootTimer::StartPoint started_ago(std::chrono::milliseconds ago) {
  BootTimer::StartPoint p = BootTimer::StartPoint::now();
  p.wall -= ago;
  return p;
}

TEST(BootTimerTest, MagicWriteLogsAndRecords) {
  LogCapture log;
  int observed = 0;
  BootTimer::Measurement seen{};
  BootTimer timer(started_ago(std::chrono::milliseconds(25)), [&](const BootTimer::Measurement& m) {
    ++observed;
    seen = m;
  });
  EXPECT_FALSE(timer.last_measurement().has_value());

  write_byte(timer, 0, 123);

  auto m = timer.last_measurement();
  ASSERT_TRUE(m.has_value());
  EXPECT_GE(m->wall_us, 25'000u);
  EXPECT_LT(m->wall_us, 60'000'000u);  // a sane bound, not a timing assertion
  EXPECT_EQ(observed, 1);
  EXPECT_EQ(seen.wall_us, m->wall_us);
  EXPECT_EQ(seen.cpu_us, m->cpu_us);

  const std::string text = log.text();
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      text, match,
      std::regex(R"(Guest-boot-time = (\d+) us (\d+) ms, (\d+) CPU us (\d+) CPU ms)")))
      << text;
  EXPECT_EQ(std::stoull(match[1].str()), m->wall_us);
  EXPECT_EQ(std::stoull(match[2].str()), m->wall_us / 1000);
  EXPECT_EQ(std::stoull(match[3].str()), m->cpu_us);
  EXPECT_EQ(std::stoull(match[4].str()), m->cpu_us / 1000);
  EXPECT_NE(text.find("INFO"), std::string::npos);
}

TEST(BootTimerTest, CpuTimeCountsFromTheStartPoint) {
  BootTimer::StartPoint from_zero = BootTimer::StartPoint::now();
  from_zero.cpu = std::chrono::nanoseconds{0};
  // Burn a little CPU so the process has some on the clock.
  volatile uint64_t sink = 0;
  for (uint64_t i = 0; i < 2'000'000; ++i) sink = sink + i;
  LogCapture log;
  BootTimer timer(from_zero);
  write_byte(timer, 0, 123);
  ASSERT_TRUE(timer.last_measurement().has_value());
  EXPECT_GT(timer.last_measurement()->cpu_us, 0u);
}

TEST(BootTimerTest, OtherWritesAndReadsDoNothing) {
  LogCapture log;
  int observed = 0;
  BootTimer timer(BootTimer::StartPoint::now(), [&](const BootTimer::Measurement&) { ++observed; });
  write_byte(timer, 0, 122);
  write_byte(timer, 0, 0);
  write_byte(timer, 1, 123);      // wrong offset
  write_byte(timer, 0xfff, 123);
  std::array<uint8_t, 2> wide = {123, 1};  // value 0x17b, not 123
  timer.write(0, wide);
  timer.write(0, std::span<const uint8_t>());
  std::array<uint8_t, 16> too_wide{};
  too_wide[0] = 123;
  timer.write(0, too_wide);
  EXPECT_FALSE(timer.last_measurement().has_value());
  EXPECT_EQ(observed, 0);
  EXPECT_EQ(log.text().find("Guest-boot-time"), std::string::npos);

  EXPECT_EQ(read_byte(timer, 0), 0);
  std::array<uint8_t, 8> r;
  r.fill(0xff);
  timer.read(0x10, r);
  EXPECT_EQ(r, (std::array<uint8_t, 8>{}));
}

TEST(BootTimerTest, WideWriteOfTheMagicValueCounts) {
  LogCapture log;
  BootTimer timer(BootTimer::StartPoint::now());
  std::array<uint8_t, 4> value = {123, 0, 0, 0};
  timer.write(0, value);
  EXPECT_TRUE(timer.last_measurement().has_value());
}

TEST(BootTimerTest, EachMagicWriteMeasuresAgain) {
  LogCapture log;
  int observed = 0;
  BootTimer timer(BootTimer::StartPoint::now(), [&](const BootTimer::Measurement&) { ++observed; });
  write_byte(timer, 0, 123);
  const uint64_t first = timer.last_measurement()->wall_us;
  write_byte(timer, 0, 123);
  EXPECT_EQ(observed, 2);
  EXPECT_GE(timer.last_measurement()->wall_us, first);
}

}  // namespace
}  // namespace ember
