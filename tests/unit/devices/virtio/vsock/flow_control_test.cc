// Credit accounting (virtio 1.2 §5.10.6.3) and the host-bound byte ring.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "devices/virtio/vsock/byte_ring.h"
#include "devices/virtio/vsock/credit.h"

namespace ember::vsock {
namespace {

TEST(VsockCredit, PeerFreeSpace) {
  Credit c(4096);
  EXPECT_EQ(c.peer_free(), 0u) << "nothing before the guest says how much it has";
  c.update_peer(1000, 0);
  EXPECT_EQ(c.peer_free(), 1000u);
  c.on_sent_to_guest(600);
  EXPECT_EQ(c.peer_free(), 400u);
  c.on_sent_to_guest(400);
  EXPECT_EQ(c.peer_free(), 0u);
  c.update_peer(1000, 500);
  EXPECT_EQ(c.peer_free(), 500u);
  c.update_peer(200, 500);
  EXPECT_EQ(c.peer_free(), 0u) << "a buffer shrunk below what is in flight";
  c.update_peer(1000, 2000);
  EXPECT_EQ(c.peer_free(), 0u) << "fwd_cnt ahead of what was sent";
}

TEST(VsockCredit, CountersWrap) {
  Credit c(4096);
  c.on_sent_to_guest(0xfffffff0u);
  c.update_peer(100, 0xfffffff0u);
  c.on_sent_to_guest(0x20);  // tx_cnt wraps to 0x10
  EXPECT_EQ(c.peer_free(), 100u - 0x20);
}

TEST(VsockCredit, OwnBuffer) {
  Credit c(4096);
  EXPECT_TRUE(c.fits(4096));
  EXPECT_FALSE(c.fits(4097));
  c.on_received_from_guest(4000);
  EXPECT_TRUE(c.fits(96));
  EXPECT_FALSE(c.fits(97));
  c.on_forwarded_to_host(1000);
  EXPECT_EQ(c.buffered(), 3000u);
  EXPECT_TRUE(c.fits(1096));
}

TEST(VsockCredit, UpdateDueWhenTheGuestIsLow) {
  Credit c(256 * 1024);
  EXPECT_FALSE(c.update_due(64 * 1024));
  c.on_received_from_guest(100 * 1024);
  c.on_forwarded_to_host(100 * 1024);
  EXPECT_FALSE(c.update_due(64 * 1024)) << "the guest still sees 156 KiB free";
  c.on_received_from_guest(100 * 1024);
  c.on_forwarded_to_host(100 * 1024);
  EXPECT_TRUE(c.update_due(64 * 1024)) << "it sees 56 KiB while all is free";
  c.mark_advertised();
  EXPECT_FALSE(c.update_due(64 * 1024));
  // Filled completely and drained: the update is always due then.
  c.on_received_from_guest(256 * 1024);
  EXPECT_FALSE(c.update_due(64 * 1024)) << "nothing drained yet";
  c.on_forwarded_to_host(256 * 1024);
  EXPECT_TRUE(c.update_due(64 * 1024));
}

TEST(VsockByteRing, WrapsAndFreesWhenDrained) {
  ByteRing r(10);
  std::vector<uint8_t> a(7);
  std::iota(a.begin(), a.end(), 0);
  r.append(a);
  r.consume(5);
  std::vector<uint8_t> b = {7, 8, 9, 10, 11, 12, 13, 14};
  r.append(b);
  EXPECT_EQ(r.size(), 10u);
  EXPECT_EQ(r.free_space(), 0u);
  std::array<iovec, 2> iov{};
  ASSERT_EQ(r.readable(&iov), 2u);
  std::vector<uint8_t> got;
  for (const auto& v : iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    got.insert(got.end(), p, p + v.iov_len);
  }
  EXPECT_EQ(got, (std::vector<uint8_t>{5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  r.consume(10);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.readable(&iov), 0u);
  r.append(a);
  EXPECT_EQ(r.size(), 7u);
}

}  // namespace
}  // namespace ember::vsock
