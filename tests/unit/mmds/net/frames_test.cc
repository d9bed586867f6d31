#include "mmds/net/frames.h"

#include <gtest/gtest.h>

#include <vector>

namespace ember::mmds_net {
namespace {

TEST(MmdsFramesTest, ChecksumIsRfc1071) {
  // RFC 1071 §3's example bytes sum to 0xddf2 (before the complement).
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_finish(checksum_add(0, bytes)), static_cast<uint16_t>(~0xddf2));
  // An odd length pads with a zero byte.
  const std::vector<uint8_t> odd = {0x12};
  EXPECT_EQ(checksum_finish(checksum_add(0, odd)), static_cast<uint16_t>(~0x1200));
}

TEST(MmdsFramesTest, TcpFrameRoundTrips) {
  std::vector<uint8_t> buf(1514);
  TcpSegmentOut out{80, 1234, 7, 9, kTcpAck | kTcpPsh, 500, 1460, "hello"};
  const size_t len =
      write_tcp_frame(buf, {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}, {10, 0, 0, 1}, {10, 0, 0, 2}},
                      out);
  ASSERT_EQ(len, 14u + 20 + 24 + 5);
  Ipv4Packet ip;
  ASSERT_EQ(parse_ipv4_packet(std::span(buf).subspan(14, len - 14), ip), Ipv4Error::kNone);
  auto tcp = parse_tcp(ip.payload, ip.src, ip.dst, true);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->src_port, 80);
  EXPECT_EQ(tcp->seq, 7u);
  EXPECT_EQ(tcp->mss, 1460);
  EXPECT_EQ(std::string(tcp->payload.begin(), tcp->payload.end()), "hello");
  // Too small a buffer writes nothing.
  std::vector<uint8_t> small(len - 1);
  EXPECT_EQ(write_tcp_frame(small, {}, out), 0u);
  // Every flipped byte of the TCP part breaks its checksum.
  for (size_t i = 34; i < len; ++i) {
    auto copy = buf;
    copy[i] ^= 0x40;
    Ipv4Packet p;
    ASSERT_EQ(parse_ipv4_packet(std::span(copy).subspan(14, len - 14), p), Ipv4Error::kNone);
    EXPECT_FALSE(parse_tcp(p.payload, p.src, p.dst, true)) << i;
  }
}

TEST(MmdsFramesTest, Ipv4RefusesEveryBadHeader) {
  std::vector<uint8_t> buf(1514);
  const size_t len = write_tcp_frame(buf, {{}, {}, {10, 0, 0, 1}, {10, 0, 0, 2}},
                                     TcpSegmentOut{1, 2, 0, 0, kTcpSyn, 0, std::nullopt, ""});
  std::vector<uint8_t> ip(buf.begin() + 14, buf.begin() + static_cast<ptrdiff_t>(len));
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4_packet(ip, p), Ipv4Error::kNone);
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(parse_ipv4_packet(std::span(ip).first(n), p), Ipv4Error::kTruncated);
  }
  auto with = [&](size_t at, uint8_t v) {
    auto c = ip;
    c[at] = v;
    return parse_ipv4_packet(c, p);
  };
  EXPECT_EQ(with(0, 0x65), Ipv4Error::kBadHeader);    // version 6
  EXPECT_EQ(with(0, 0x44), Ipv4Error::kBadHeader);    // IHL 4
  EXPECT_EQ(with(0, 0x4f), Ipv4Error::kBadHeader);    // IHL 15: past the total length
  EXPECT_EQ(with(3, 0xff), Ipv4Error::kTruncated);    // total length past the bytes
  EXPECT_EQ(with(3, 10), Ipv4Error::kBadHeader);      // total under the header
  EXPECT_EQ(with(8, 1), Ipv4Error::kBadChecksum);     // TTL changed, checksum not
  auto frag = ip;
  frag[6] = 0x20;  // MF
  frag[10] = frag[11] = 0;
  store_be16(&frag[10], checksum_finish(checksum_add(0, std::span(frag).first(20))));
  EXPECT_EQ(parse_ipv4_packet(frag, p), Ipv4Error::kFragment);
  frag[6] = 0;
  frag[7] = 1;  // offset 8
  frag[10] = frag[11] = 0;
  store_be16(&frag[10], checksum_finish(checksum_add(0, std::span(frag).first(20))));
  EXPECT_EQ(parse_ipv4_packet(frag, p), Ipv4Error::kFragment);
}

TEST(MmdsFramesTest, TcpOptionsAreBoundsChecked) {
  std::vector<uint8_t> seg(24, 0);
  seg[12] = 6 << 4;  // 24-byte header
  Ipv4Address a{};
  seg[20] = 2;
  seg[21] = 4;
  seg[22] = 0x05;
  seg[23] = 0xb4;
  auto ok = parse_tcp(seg, a, a, false);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->mss, 1460);
  seg[21] = 5;  // runs past the header
  EXPECT_FALSE(parse_tcp(seg, a, a, false));
  seg[21] = 0;  // a length under 2
  EXPECT_FALSE(parse_tcp(seg, a, a, false));
  seg[20] = 1;
  seg[21] = 1;
  seg[22] = 1;
  seg[23] = 9;  // kind 9 with no length byte left
  EXPECT_FALSE(parse_tcp(seg, a, a, false));
  seg[12] = 15 << 4;  // data offset past the segment
  EXPECT_FALSE(parse_tcp(seg, a, a, false));
  seg[12] = 4 << 4;  // data offset under 5
  EXPECT_FALSE(parse_tcp(seg, a, a, false));
  EXPECT_FALSE(parse_tcp(std::span(seg).first(19), a, a, false));
}

TEST(MmdsFramesTest, ArpNeedsEthernetAndIpv4Sizes) {
  std::vector<uint8_t> arp = {0, 1, 8, 0, 6, 4, 0, 1, 1, 2, 3, 4, 5, 6, 10, 0, 0, 2,
                              0, 0, 0, 0, 0, 0, 169, 254, 169, 254};
  auto ok = parse_arp(arp);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->operation, kArpRequest);
  EXPECT_EQ(ok->target_ip, (Ipv4Address{169, 254, 169, 254}));
  EXPECT_FALSE(parse_arp(std::span(arp).first(27)));
  for (size_t i : {0, 1, 2, 3, 4, 5}) {
    auto c = arp;
    c[i] ^= 1;
    EXPECT_FALSE(parse_arp(c)) << i;
  }
}

}  // namespace
}  // namespace ember::mmds_net
