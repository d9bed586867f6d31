// The vsock packet layout (virtio 1.2 §5.10.6) and the chain parsing around it.
#include "devices/virtio/vsock/vsock_packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember::vsock {
namespace {

PacketHeader sample() {
  PacketHeader h;
  h.src_cid = 0x1122334455667788ull;
  h.dst_cid = 2;
  h.src_port = 0xa1a2a3a4;
  h.dst_port = 52;
  h.len = 5;
  h.type = kTypeStream;
  h.op = kOpRw;
  h.flags = 0x01020304;
  h.buf_alloc = 0x40000;
  h.fwd_cnt = 0xfffffff0;
  return h;
}

TEST(VsockPacket, HeaderWireLayout) {
  const auto b = encode_header(sample());
  ASSERT_EQ(b.size(), 44u);
  auto at = [&](size_t off, size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, b.data() + off, n);
    return v;
  };
  EXPECT_EQ(at(0, 8), 0x1122334455667788ull);
  EXPECT_EQ(at(8, 8), 2u);
  EXPECT_EQ(at(16, 4), 0xa1a2a3a4u);
  EXPECT_EQ(at(20, 4), 52u);
  EXPECT_EQ(at(24, 4), 5u);
  EXPECT_EQ(at(28, 2), 1u);
  EXPECT_EQ(at(30, 2), 5u);
  EXPECT_EQ(at(32, 4), 0x01020304u);
  EXPECT_EQ(at(36, 4), 0x40000u);
  EXPECT_EQ(at(40, 4), 0xfffffff0u);
  const PacketHeader back = decode_header(b);
  EXPECT_EQ(encode_header(back), b);
}

class VsockTxParseTest : public ::testing::Test {
 protected:
  void put_header(uint64_t at, const PacketHeader& h) {
    ASSERT_TRUE(mem_.write(at, encode_header(h)).ok());
  }
  DescriptorChain chain(std::vector<DescriptorBuffer> bufs) {
    DescriptorChain c;
    c.buffers = std::move(bufs);
    return c;
  }
  std::string payload_of(const TxPacket& p) {
    std::string s;
    for (const auto& v : p.payload) s.append(static_cast<const char*>(v.iov_base), v.iov_len);
    return s;
  }
  GuestMemory mem_ = virtio_testing::make_memory();
  TxPacket packet_;
  std::string problem_;
};

TEST_F(VsockTxParseTest, HeaderAndPayloadInAnyLayout) {
  // Header split 10 + 34 with the payload's first 2 bytes sharing the second buffer.
  std::vector<uint8_t> bytes(44 + 5);
  const auto h = encode_header(sample());
  std::memcpy(bytes.data(), h.data(), 44);
  std::memcpy(bytes.data() + 44, "hello", 5);
  ASSERT_TRUE(mem_.write(0x1000, std::span(bytes).subspan(0, 10)).ok());
  ASSERT_TRUE(mem_.write(0x2000, std::span(bytes).subspan(10, 36)).ok());
  ASSERT_TRUE(mem_.write(0x3000, std::span(bytes).subspan(46)).ok());
  auto r = parse_tx_packet(mem_, chain({{0x1000, 10, false}, {0x2000, 36, false},
                                        {0x3000, 3, false}}),
                           &packet_, &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kOk) << problem_;
  EXPECT_EQ(packet_.header.dst_port, 52u);
  EXPECT_EQ(payload_of(packet_), "hello");
}

TEST_F(VsockTxParseTest, PayloadTrimmedToLen) {
  put_header(0x1000, sample());
  ASSERT_TRUE(mem_.write(0x2000, std::span<const uint8_t>(
                                     reinterpret_cast<const uint8_t*>("hello, world"), 12))
                  .ok());
  auto r = parse_tx_packet(mem_, chain({{0x1000, 44, false}, {0x2000, 12, false}}), &packet_,
                           &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kOk);
  EXPECT_EQ(payload_of(packet_), "hello");
}

TEST_F(VsockTxParseTest, ShortHeaderIsDropped) {
  put_header(0x1000, sample());
  auto r = parse_tx_packet(mem_, chain({{0x1000, 43, false}}), &packet_, &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kNoHeader);
  EXPECT_NE(problem_.find("shorter"), std::string::npos) << problem_;
}

TEST_F(VsockTxParseTest, WritableBufferIsDropped) {
  put_header(0x1000, sample());
  auto r = parse_tx_packet(mem_, chain({{0x1000, 44, false}, {0x2000, 5, true}}), &packet_,
                           &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kNoHeader);
}

TEST_F(VsockTxParseTest, LenBeyondTheChain) {
  PacketHeader h = sample();
  h.len = 100;
  put_header(0x1000, h);
  auto r = parse_tx_packet(mem_, chain({{0x1000, 44, false}, {0x2000, 99, false}}), &packet_,
                           &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kBadPayload);
  EXPECT_EQ(packet_.header.len, 100u) << "the header is still there to answer";
}

TEST_F(VsockTxParseTest, LenOverTheLimit) {
  PacketHeader h = sample();
  h.len = kMaxPayload + 1;
  put_header(0x1000, h);
  auto r = parse_tx_packet(mem_, chain({{0x1000, 44, false}, {0x10000, kMaxPayload + 1, false}}),
                           &packet_, &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kBadPayload);
  h.len = 0xffffffff;
  put_header(0x1000, h);
  r = parse_tx_packet(mem_, chain({{0x1000, 44, false}}), &packet_, &problem_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, TxParse::kBadPayload);
}

TEST_F(VsockTxParseTest, RxChainViewWritesAcrossBuffers) {
  RxChainView view;
  auto r = view.map(mem_, chain({{0x1000, 10, true}, {0x2000, 50, true}}), 45, &problem_);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r) << problem_;
  EXPECT_EQ(view.capacity(), 60u);
  view.write(0, encode_header(sample()));
  std::vector<uint8_t> first(10), second(34);
  ASSERT_TRUE(mem_.read(0x1000, first).ok());
  ASSERT_TRUE(mem_.read(0x2000, second).ok());
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_EQ(decode_header(std::span<const uint8_t, 44>(first.data(), 44)).fwd_cnt, 0xfffffff0u);
  std::vector<iovec> iov;
  view.views(44, 100, &iov);
  ASSERT_EQ(iov.size(), 1u);
  EXPECT_EQ(iov[0].iov_len, 16u) << "clamped to the chain";

  EXPECT_FALSE(*view.map(mem_, chain({{0x1000, 44, true}}), 45, &problem_));
  EXPECT_FALSE(*view.map(mem_, chain({{0x1000, 100, false}}), 45, &problem_))
      << "a driver-readable buffer in an rx chain";
}

}  // namespace
}  // namespace ember::vsock
