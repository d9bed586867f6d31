#include "devices/legacy/acpi_sleep.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "tests/unit/devices/legacy/legacy_fakes.h"

namespace ember {
namespace {

using testing::LogCapture;
using testing::read_byte;
using testing::write_byte;

// SLEEP_CONTROL_REG value: SLP_TYP in bits 2-4, SLP_EN bit 5 (ACPI 6.4, 4.8.3.7).
constexpr uint8_t sleep_control(uint8_t type, bool enable) {
  return static_cast<uint8_t>((type << 2) | (enable ? 0x20 : 0));
}

TEST(AcpiSleepTest, S5WithSleepEnablePowersOff) {
  int poweroffs = 0;
  AcpiSleep sleep([&] { ++poweroffs; });
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(kAcpiS5SleepType, true));
  EXPECT_EQ(poweroffs, 1);
  // Reserved bits 0-1 and 6-7 do not matter.
  write_byte(sleep, AcpiSleep::kControlOffset,
             static_cast<uint8_t>(sleep_control(kAcpiS5SleepType, true) | 0xc3));
  EXPECT_EQ(poweroffs, 2);
}

TEST(AcpiSleepTest, OtherWritesDoNotPowerOff) {
  LogCapture log;
  int poweroffs = 0;
  AcpiSleep sleep([&] { ++poweroffs; });
  // SLP_TYP without SLP_EN only selects the state.
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(kAcpiS5SleepType, false));
  // Other sleep states are refused with a warning (once per state).
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(3, true));
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(3, true));
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(0, true));
  // The status register (WAK_STS is write-1-to-clear) and other offsets ignore writes.
  write_byte(sleep, AcpiSleep::kStatusOffset, 0xff);
  write_byte(sleep, AcpiSleep::kStatusOffset, sleep_control(kAcpiS5SleepType, true));
  write_byte(sleep, 7, sleep_control(kAcpiS5SleepType, true));
  sleep.write(AcpiSleep::kControlOffset, std::span<const uint8_t>());
  EXPECT_EQ(poweroffs, 0);

  const std::string text = log.text();
  auto first = text.find("sleep type 3");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("sleep type 3", first + 1), std::string::npos);
  EXPECT_NE(text.find("sleep type 0"), std::string::npos);
  EXPECT_NE(text.find("WARN"), std::string::npos);
}

TEST(AcpiSleepTest, RegistersReadZero) {
  AcpiSleep sleep([] {});
  EXPECT_EQ(read_byte(sleep, AcpiSleep::kControlOffset), 0);
  EXPECT_EQ(read_byte(sleep, AcpiSleep::kStatusOffset), 0);
  std::array<uint8_t, 4> wide;
  wide.fill(0xff);
  sleep.read(0, wide);
  EXPECT_EQ(wide, (std::array<uint8_t, 4>{}));
}

TEST(AcpiSleepTest, WideWriteUsesTheFirstByte) {
  int poweroffs = 0;
  AcpiSleep sleep([&] { ++poweroffs; });
  std::array<uint8_t, 2> wide = {sleep_control(kAcpiS5SleepType, true), 0};
  sleep.write(AcpiSleep::kControlOffset, wide);
  EXPECT_EQ(poweroffs, 1);
}

TEST(AcpiSleepTest, WorksWithoutACallback) {
  AcpiSleep sleep{std::function<void()>{}};
  write_byte(sleep, AcpiSleep::kControlOffset, sleep_control(kAcpiS5SleepType, true));
}

}  // namespace
}  // namespace ember
