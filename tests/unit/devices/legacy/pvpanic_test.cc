#include "devices/legacy/pvpanic.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

TEST(PvPanic, AdvertisesPanickedAndReportsIt) {
  int panics = 0;
  PvPanic dev([&] { ++panics; });
  uint8_t b[1] = {0xff};
  dev.read(0, b);
  EXPECT_EQ(b[0], PvPanic::kPanicked);
  const uint8_t crash_loaded[1] = {PvPanic::kCrashLoaded};
  dev.write(0, crash_loaded);
  EXPECT_EQ(panics, 0);
  const uint8_t panicked[1] = {PvPanic::kPanicked | PvPanic::kCrashLoaded};
  dev.write(0, panicked);
  EXPECT_EQ(panics, 1);
}

TEST(PvPanic, OddAccessesAreHarmless) {
  int panics = 0;
  PvPanic dev([&] { ++panics; });
  dev.write(0, {});
  const uint8_t one[1] = {1};
  dev.write(3, one);
  uint8_t wide[4] = {9, 9, 9, 9};
  dev.read(0, wide);
  EXPECT_EQ(wide[0], 1);
  EXPECT_EQ(wide[1], 0);
  EXPECT_EQ(panics, 0);
}

}  // namespace
}  // namespace ember
