#include "snapshot/byte_codec.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

struct Pod {
  uint32_t a;
  uint16_t b;
  uint8_t c[2];
};

TEST(ByteCodec, RoundTripsEveryKind) {
  ByteWriter w;
  w.u8(7);
  w.u16(0x1234);
  w.u32(0xdeadbeef);
  w.u64(0x0102030405060708ull);
  w.boolean(true);
  w.str("drive0");
  w.pod(Pod{1, 2, {3, 4}});
  const std::vector<uint8_t> bytes = w.take();

  ByteReader r(bytes);
  EXPECT_EQ(*r.u8("a"), 7);
  EXPECT_EQ(*r.u16("b"), 0x1234);
  EXPECT_EQ(*r.u32("c"), 0xdeadbeefu);
  EXPECT_EQ(*r.u64("d"), 0x0102030405060708ull);
  EXPECT_TRUE(*r.boolean("e"));
  EXPECT_EQ(*r.str("f", 64), "drive0");
  auto p = r.pod<Pod>("g");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->a, 1u);
  EXPECT_EQ(p->c[1], 4);
  EXPECT_TRUE(r.expect_end().ok());
}

TEST(ByteCodec, EveryTruncationIsAnErrorNamingTheField) {
  ByteWriter w;
  w.u64(1);
  w.str("abc");
  w.pod(Pod{});
  const std::vector<uint8_t> full = w.take();
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    ByteReader r(cut);
    auto a = r.u64("first");
    auto b = a.ok() ? r.str("second", 64) : Result<std::string>(a.error());
    auto c = b.ok() ? r.pod<Pod>("third") : Result<Pod>(b.error());
    ASSERT_FALSE(c.ok()) << n;
    EXPECT_NE(c.error().message.find("cut short"), std::string::npos) << c.error().message;
  }
}

TEST(ByteCodec, RefusesWrongSizesBadBooleansAndForgedCounts) {
  ByteWriter w;
  w.u32(3);  // a pod of 3 bytes where Pod has 8
  w.u8(1);
  w.u8(2);
  w.u8(3);
  w.u8(2);  // not a boolean
  w.u32(1000000);  // a count the rest cannot hold
  const std::vector<uint8_t> bytes = w.take();
  ByteReader r(bytes);
  auto p = r.pod<Pod>("device state");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("device state"), std::string::npos);

  ByteReader r2(std::span<const uint8_t>(bytes).subspan(7));
  EXPECT_FALSE(r2.boolean("flag").ok());
  ByteReader r3(std::span<const uint8_t>(bytes).subspan(8));
  EXPECT_FALSE(r3.count("vcpus", 16, 1u << 30).ok());
}

TEST(ByteCodec, RefusesOversizedStringsAndTrailingBytes) {
  ByteWriter w;
  w.str(std::string(100, 'x'));
  w.u8(0);
  const std::vector<uint8_t> bytes = w.take();
  ByteReader r(bytes);
  EXPECT_FALSE(r.str("path", 10).ok());
  ByteReader r2(bytes);
  ASSERT_TRUE(r2.str("path", 100).ok());
  EXPECT_FALSE(r2.expect_end().ok());
}

}  // namespace
}  // namespace ember
