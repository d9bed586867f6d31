#include "base/byte_codec.h"

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

// The one format both users rely on: a snapshot's state and the agent's payloads are
// little-endian on the wire whatever the host.
TEST(ByteCodec, IntegersAreLittleEndianAndStringsLengthPrefixed) {
  ByteWriter w;
  w.u16(0x0201);
  w.u32(0x06050403);
  w.u64(0x0e0d0c0b0a090807ull);
  w.i32(-2);
  w.str("ab");
  const std::vector<uint8_t> expected = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                         0xfe, 0xff, 0xff, 0xff, 2, 0, 0, 0, 'a', 'b'};
  EXPECT_EQ(w.data(), expected);
  ByteReader r(expected);
  EXPECT_EQ(*r.u16("a"), 0x0201);
  EXPECT_EQ(*r.u32("b"), 0x06050403u);
  EXPECT_EQ(*r.u64("c"), 0x0e0d0c0b0a090807ull);
  EXPECT_EQ(*r.i32("d"), -2);
  EXPECT_EQ(*r.str("e", 2), "ab");
  EXPECT_TRUE(r.expect_end().ok());
}

TEST(ByteCodec, ErrorsNameTheSubjectAndWhereTheReaderStands) {
  const std::vector<uint8_t> bytes = {7, 0, 0, 0, 'x'};
  ByteReader state(bytes);
  auto cut = state.str("drive path", 64);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().message, "drive path (at byte 4 of the state) is cut short: 7 bytes needed, 1 left");

  ByteReader payload(bytes, "the EXEC payload");
  ASSERT_TRUE(payload.u32("argv count").ok());
  EXPECT_EQ(payload.error("argv[0]", "contains a NUL byte").message,
            "argv[0] (at byte 4 of the EXEC payload) contains a NUL byte");
  auto rest = payload.expect_end();
  ASSERT_FALSE(rest.ok());
  EXPECT_EQ(rest.error().message.rfind("the EXEC payload has 1 unexpected bytes", 0), 0u) << rest.error().message;
}

}  // namespace
}  // namespace ember
