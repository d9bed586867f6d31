#include "devices/virtio/block/block_request.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using namespace virtio_blk;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kHeader = 0x1000;
constexpr uint64_t kData = 0x2000;
constexpr uint64_t kStatusAt = 0x9000;
constexpr BlockDiskInfo kDisk{100, false};

class BlockRequestTest : public ::testing::Test {
 protected:
  void write_header(uint64_t at, uint32_t type, uint64_t sector) {
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    ASSERT_TRUE(mem_.write(at, h).ok());
  }
  void chain(std::vector<DescriptorBuffer> bufs) { chain_.buffers = std::move(bufs); }
  void parse(const BlockDiskInfo& disk = kDisk) { parse_block_request(mem_, chain_, disk, &req_); }

  GuestMemory mem_ = virtio_testing::make_memory();
  DescriptorChain chain_;
  BlockRequest req_;
};

TEST_F(BlockRequestTest, ReadRequest) {
  write_header(kHeader, kTypeIn, 7);
  chain({{kHeader, 16, false}, {kData, 1024, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk) << req_.problem;
  EXPECT_EQ(req_.type, kTypeIn);
  EXPECT_EQ(req_.sector, 7u);
  EXPECT_EQ(req_.data_len, 1024u);
  ASSERT_EQ(req_.data.size(), 1u);
  EXPECT_EQ(req_.data[0].addr, kData);
  EXPECT_TRUE(req_.has_status);
  EXPECT_EQ(req_.status_addr, kStatusAt);
}

TEST_F(BlockRequestTest, WriteWithHeaderAndDataInOneBuffer) {
  write_header(kHeader, kTypeOut, 3);
  chain({{kHeader, 16 + 1024, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk) << req_.problem;
  ASSERT_EQ(req_.data.size(), 1u);
  EXPECT_EQ(req_.data[0].addr, kHeader + 16);
  EXPECT_EQ(req_.data[0].len, 1024u);
}

TEST_F(BlockRequestTest, HeaderSplitAcrossBuffers) {
  write_header(kHeader, kTypeIn, 0x1122334455ull);
  // Move the second half of the header elsewhere.
  uint8_t tail[8];
  ASSERT_TRUE(mem_.read(kHeader + 8, tail).ok());
  ASSERT_TRUE(mem_.write(0x5000, tail).ok());
  chain({{kHeader, 8, false}, {0x5000, 8, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse({0x2000000000ull, false});
  EXPECT_EQ(req_.status, kStatusOk) << req_.problem;
  EXPECT_EQ(req_.sector, 0x1122334455ull);
}

TEST_F(BlockRequestTest, StatusSharesTheLastDataBuffer) {
  write_header(kHeader, kTypeIn, 0);
  chain({{kHeader, 16, false}, {kData, 256, true}, {kData + 0x1000, 257, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk) << req_.problem;
  EXPECT_EQ(req_.data_len, 512u);
  ASSERT_EQ(req_.data.size(), 2u);
  EXPECT_EQ(req_.data[1].len, 256u);
  EXPECT_EQ(req_.status_addr, kData + 0x1000 + 256);
}

TEST_F(BlockRequestTest, ShortHeaderIsIoErr) {
  write_header(kHeader, kTypeIn, 0);
  chain({{kHeader, 12, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
  EXPECT_TRUE(req_.has_status);
  EXPECT_NE(req_.problem.find("needs 16"), std::string::npos) << req_.problem;
}

TEST_F(BlockRequestTest, NoWritableStatusByte) {
  write_header(kHeader, kTypeFlush, 0);
  chain({{kHeader, 16, false}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
  EXPECT_FALSE(req_.has_status);
  chain({});
  parse();
  EXPECT_FALSE(req_.has_status);
  chain({{kHeader, 16, false}, {kStatusAt, 0, true}});  // an empty "status" buffer
  parse();
  EXPECT_FALSE(req_.has_status);
}

TEST_F(BlockRequestTest, ReadableAfterWritableIsIoErr) {
  write_header(kHeader, kTypeOut, 0);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kData, 512, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
}

TEST_F(BlockRequestTest, WrongDataDirectionIsIoErr) {
  write_header(kHeader, kTypeIn, 0);
  chain({{kHeader, 16, false}, {kData, 512, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr) << "read with device-readable data";

  write_header(kHeader, kTypeOut, 0);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr) << "write with device-writable data";

  write_header(kHeader, kTypeFlush, 0);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr) << "flush with data";
}

TEST_F(BlockRequestTest, PartialSectorIsIoErr) {
  write_header(kHeader, kTypeIn, 0);
  chain({{kHeader, 16, false}, {kData, 100, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
}

TEST_F(BlockRequestTest, RangeIsCheckedAgainstCapacity) {
  write_header(kHeader, kTypeIn, 99);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk) << "the last sector";

  chain({{kHeader, 16, false}, {kData, 1024, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr) << "one sector past the end";

  write_header(kHeader, kTypeIn, 100);
  chain({{kHeader, 16, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk) << "an empty read at the end";

  // sector + count overflows 64 bits.
  write_header(kHeader, kTypeIn, ~0ull);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
  write_header(kHeader, kTypeOut, ~0ull - 1);
  chain({{kHeader, 16 + 1024, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusIoErr);
}

TEST_F(BlockRequestTest, ReadOnlyDiskRefusesWritesOnly) {
  const BlockDiskInfo ro{100, true};
  write_header(kHeader, kTypeOut, 0);
  chain({{kHeader, 16 + 512, false}, {kStatusAt, 1, true}});
  parse(ro);
  EXPECT_EQ(req_.status, kStatusIoErr);
  write_header(kHeader, kTypeIn, 0);
  chain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  parse(ro);
  EXPECT_EQ(req_.status, kStatusOk);
}

TEST_F(BlockRequestTest, UnknownTypesAreUnsupported) {
  for (uint32_t type : {2u, 10u, 11u, 13u, 14u, 0xffffffffu}) {
    write_header(kHeader, type, 0);
    chain({{kHeader, 16, false}, {kStatusAt, 1, true}});
    parse();
    EXPECT_EQ(req_.status, kStatusUnsupp) << "type " << type;
  }
}

TEST_F(BlockRequestTest, GetIdAndFlush) {
  write_header(kHeader, kTypeGetId, 0);
  chain({{kHeader, 16, false}, {kData, 20, true}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk);
  EXPECT_EQ(req_.data_len, 20u);

  write_header(kHeader, kTypeFlush, 0);
  chain({{kHeader, 16, false}, {kStatusAt, 1, true}});
  parse();
  EXPECT_EQ(req_.status, kStatusOk);
  EXPECT_EQ(req_.data_len, 0u);
}

}  // namespace
}  // namespace ember
