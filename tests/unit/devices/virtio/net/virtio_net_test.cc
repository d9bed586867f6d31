// virtio-net over a socket pair in place of the tap: the transmit and receive paths, headers,
// rate limiting, running out of receive buffers, malformed chains, snapshots. No root needed.
#include "devices/virtio/net/virtio_net.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "devices/virtio/mmio_transport.h"
#include "tests/unit/devices/virtio/net/net_test_util.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using namespace net_testing;  // NOLINT(google-build-using-namespace)
using virtio_testing::Buf;

constexpr uint64_t kAllOffered = kVersion1 | kEventIdx | kIndirect | kCsum | kGuestCsum |
                                 kGuestTso4 | kGuestTso6 | kGuestUfo | kHostTso4 | kHostTso6 |
                                 kHostUfo | kStatus;
constexpr uint64_t kTxBuf = 0x40000;  // transmit buffers from here
constexpr uint64_t kRxBuf = 0x80000;  // receive buffers from here (64 KiB + apart)

VirtioNetConfig default_config() {
  VirtioNetConfig c;
  c.id = "eth0";
  c.guest_mac = NetMacAddress{0x06, 0x00, 0xac, 0x10, 0x00, 0x02};
  c.queue_size = 256;
  return c;
}

class VirtioNetTest : public ::testing::Test {
 protected:
  void create(const VirtioNetConfig& config = default_config()) {
    auto backend = std::make_unique<SocketBackend>();
    backend_ = backend.get();
    auto net = VirtioNet::create_with_backend(config, std::move(backend), registrar_, clock_);
    ASSERT_TRUE(net.ok()) << net.error().message;
    net_ = std::move(net).value();
  }
  void activate(uint64_t features = kAllOffered | kMac) {
    auto r = net_->activate(q_.mem, features, q_.queues(), irq_);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // The guest puts `frame` (header included) in a transmit chain cut at `cuts` (lengths of
  // all buffers but the last) and notifies.
  uint16_t guest_send(const std::vector<uint8_t>& frame, const std::vector<uint32_t>& cuts = {},
                      bool notify = true) {
    std::vector<Buf> bufs;
    uint64_t at = tx_addr_;
    size_t offset = 0;
    for (const uint32_t cut : cuts) {
      bufs.push_back({at, cut, false});
      at += cut;
      offset += cut;
    }
    bufs.push_back({at, static_cast<uint32_t>(frame.size() - offset), false});
    EXPECT_TRUE(q_.mem.write(tx_addr_, frame).ok());
    tx_addr_ += 0x20000;
    if (tx_addr_ >= 0x80000) tx_addr_ = kTxBuf;
    const uint16_t head = q_.tx.add_chain(bufs, next_tx_);
    next_tx_ = static_cast<uint16_t>((next_tx_ + bufs.size()) % q_.tx.size());
    if (notify) {
      EXPECT_TRUE(net_->process_queue(1).ok());
    }
    return head;
  }
  // The guest posts a receive chain of buffers of the given lengths.
  uint16_t guest_post_rx(const std::vector<uint32_t>& lens, uint64_t at) {
    std::vector<Buf> bufs;
    for (const uint32_t len : lens) {
      bufs.push_back({at, len, true});
      at += len;
    }
    const uint16_t head = q_.rx.add_chain(bufs, next_rx_);
    next_rx_ = static_cast<uint16_t>((next_rx_ + bufs.size()) % q_.rx.size());
    return head;
  }
  std::vector<uint8_t> guest_bytes(uint64_t at, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(q_.mem.read(at, out).ok());
    return out;
  }
  // A frame as the guest sees it on receive: num_buffers set to 1.
  static std::vector<uint8_t> as_received(std::vector<uint8_t> frame) {
    frame[10] = 1;
    frame[11] = 0;
    return frame;
  }
  void ok(const Result<void>& r) { ASSERT_TRUE(r.ok()) << r.error().message; }

  NetQueues q_;
  RecordingRegistrar registrar_;
  FakeClock clock_;
  virtio_testing::CountingInterrupt irq_;
  SocketBackend* backend_ = nullptr;
  std::unique_ptr<VirtioNet> net_;
  uint64_t tx_addr_ = kTxBuf;
  uint16_t next_tx_ = 0;
  uint16_t next_rx_ = 0;
};

// ---- identity, config, events ---------------------------------------------------------------

TEST_F(VirtioNetTest, FeaturesAndConfigSpace) {
  create();
  EXPECT_EQ(net_->device_type(), 1u);
  ASSERT_EQ(net_->queue_max_sizes().size(), 2u);
  EXPECT_EQ(net_->queue_max_sizes()[0], 256);
  EXPECT_EQ(net_->device_features(), kAllOffered | kMac);
  EXPECT_EQ(net_->device_features() & kMrgRxbuf, 0u) << "one chain per frame";
  uint8_t config[16];
  std::memset(config, 0xee, sizeof config);
  net_->read_config(0, config);
  const uint8_t want[12] = {0x06, 0x00, 0xac, 0x10, 0x00, 0x02, 1, 0, 1, 0, 0, 0};
  EXPECT_EQ(std::memcmp(config, want, 12), 0);
  EXPECT_EQ(config[12], 0) << "past the end reads zero";
  uint8_t status[2];
  net_->read_config(6, status);
  EXPECT_EQ(status[0], 1) << "VIRTIO_NET_S_LINK_UP";
  const uint8_t junk[6] = {1, 2, 3, 4, 5, 6};
  net_->write_config(0, junk);
  net_->read_config(0, config);
  EXPECT_EQ(config[0], 0x06) << "the MAC is read-only";
  uint8_t far[4] = {9, 9, 9, 9};
  net_->read_config(~0ull - 1, far);
  EXPECT_EQ(far[0] | far[1] | far[2] | far[3], 0) << "offsets that wrap read zero";
}

TEST_F(VirtioNetTest, NoMacNoMacFeatureAndMtuWhenAsked) {
  VirtioNetConfig c = default_config();
  c.guest_mac.reset();
  c.mtu = 9000;
  create(c);
  EXPECT_EQ(net_->device_features(), kAllOffered | kMtu);
  uint8_t config[12];
  net_->read_config(0, config);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(config[i], 0);
  uint16_t mtu = 0;
  std::memcpy(&mtu, &config[10], 2);
  EXPECT_EQ(mtu, 9000);
}

TEST_F(VirtioNetTest, ConfigIsChecked) {
  VirtioNetConfig c = default_config();
  c.queue_size = 100;
  EXPECT_FALSE(VirtioNet::check_config(c).ok());
  c = default_config();
  c.mtu = 67;
  EXPECT_FALSE(VirtioNet::check_config(c).ok());
  c = default_config();
  // A multicast address is accepted, as Firecracker accepts it.
  c.guest_mac = NetMacAddress{0x01, 0, 0x5e, 0, 0, 1};
  EXPECT_TRUE(VirtioNet::check_config(c).ok());
  c.guest_mac = NetMacAddress{};
  EXPECT_FALSE(VirtioNet::check_config(c).ok());
  c = default_config();
  c.host_dev_name = "much-too-long-name0";
  EXPECT_FALSE(VirtioNet::check_config(c).ok());
  EXPECT_TRUE(VirtioNet::check_config(default_config()).ok());
}

TEST_F(VirtioNetTest, WatchesBackendAndTimersAndUnwatchesOnDestruction) {
  create();
  ASSERT_EQ(registrar_.watched.size(), 3u);
  const auto& backend_watch = registrar_.watched.at(backend_->fd());
  EXPECT_EQ(backend_watch.event_id, VirtioNet::kBackendEvent);
  EXPECT_EQ(backend_watch.events, static_cast<uint32_t>(EPOLLIN | EPOLLET));
  EXPECT_GE(registrar_.fd_for(VirtioNet::kRxRateLimiterEvent), 0);
  EXPECT_GE(registrar_.fd_for(VirtioNet::kTxRateLimiterEvent), 0);
  net_.reset();
  EXPECT_TRUE(registrar_.watched.empty());
}

TEST_F(VirtioNetTest, ActivationNeedsBothQueues) {
  create();
  q_.queues()[1].set_ready(false);
  EXPECT_FALSE(net_->activate(q_.mem, kAllOffered, q_.queues(), irq_).ok());
  EXPECT_FALSE(net_->activate(q_.mem, kAllOffered, q_.queues().first(1), irq_).ok());
}

TEST_F(VirtioNetTest, GuestOffloadsFollowNegotiation) {
  create();
  backend_->accept_ufo = false;
  activate(kVersion1 | kGuestCsum | kGuestTso4 | kGuestUfo);
  EXPECT_EQ(backend_->requested, (GuestOffloads{.csum = true, .tso4 = true, .tso6 = false,
                                                .ufo = true}));
  EXPECT_EQ(net_->backend_offloads(), (GuestOffloads{.csum = true, .tso4 = true, .tso6 = false,
                                                     .ufo = false}));
  net_->reset();
  activate(kVersion1);
  EXPECT_EQ(backend_->requested, GuestOffloads{}) << "a driver without offloads gets none";
}

// ---- transmit -------------------------------------------------------------------------------

TEST_F(VirtioNetTest, TransmitsOneFrame) {
  create();
  activate();
  const auto frame = make_frame(60, 7);
  const uint16_t head = guest_send(frame);
  EXPECT_EQ(backend_->receive(), frame) << "header and frame, byte for byte";
  ASSERT_EQ(q_.tx.used_idx(), 1);
  EXPECT_EQ(q_.tx.used_id(0), head);
  EXPECT_EQ(q_.tx.used_len(0), 0u) << "transmit buffers are only read";
  EXPECT_EQ(irq_.used, 1);
  const auto c = net_->counters();
  EXPECT_EQ(c.tx_packets, 1u);
  EXPECT_EQ(c.tx_bytes, 60u);
}

TEST_F(VirtioNetTest, TransmitGathersAnyCut) {
  create();
  activate();
  // Header split 5 + 7, then the frame in two pieces.
  const auto frame = make_frame(1500, 3);
  guest_send(frame, {5, 7, 700});
  EXPECT_EQ(backend_->receive(), frame);
  // An indirect chain.
  const auto frame2 = make_frame(200, 9);
  ASSERT_TRUE(q_.mem.write(0x50000, frame2).ok());
  q_.tx.add_indirect_chain(next_tx_, 0x60000, {{0x50000, 12, false}, {0x50000 + 12, 200, false}});
  ok(net_->process_queue(1));
  EXPECT_EQ(backend_->receive(), frame2);
  EXPECT_EQ(net_->counters().tx_packets, 2u);
}

TEST_F(VirtioNetTest, MalformedTransmitChainsAreDroppedNotFatal) {
  create();
  activate();
  // A device-writable buffer in a transmit chain.
  ASSERT_TRUE(q_.mem.write(kTxBuf, make_frame(50, 1)).ok());
  q_.tx.add_chain({{kTxBuf, 12, false}, {kTxBuf + 12, 50, true}}, 0);
  // Shorter than the header.
  q_.tx.add_chain({{kTxBuf, 8, false}}, 2);
  // Longer than 65550 bytes of frame.
  q_.tx.add_chain({{kTxBuf, 12, false}, {kTxBuf + 12, 65551, false}}, 3);
  // One byte under the limit is fine.
  q_.tx.add_chain({{kTxBuf, 12, false}, {kTxBuf + 12, 65550, false}}, 5);
  ok(net_->process_queue(1));
  ASSERT_EQ(q_.tx.used_idx(), 4);
  for (uint16_t i = 0; i < 4; ++i) EXPECT_EQ(q_.tx.used_len(i), 0u);
  const auto sent = backend_->receive();
  EXPECT_EQ(sent.size(), 12u + 65550);
  EXPECT_TRUE(backend_->receive().empty()) << "the malformed ones never left";
  const auto c = net_->counters();
  EXPECT_EQ(c.tx_dropped, 3u);
  EXPECT_EQ(c.tx_packets, 1u);
}

TEST_F(VirtioNetTest, BackendWriteFailureIsCounted) {
  create();
  activate();
  backend_->refuse_writes_with = EINVAL;
  guest_send(make_frame(60, 1));
  EXPECT_EQ(q_.tx.used_idx(), 1) << "the chain still goes back";
  EXPECT_EQ(net_->counters().tx_errors, 1u);
  EXPECT_EQ(net_->counters().tx_packets, 0u);
}

// ---- receive --------------------------------------------------------------------------------

TEST_F(VirtioNetTest, ReceivesOneFrameStraightIntoTheChain) {
  create();
  activate();
  const uint16_t head = guest_post_rx({1526}, kRxBuf);
  ok(net_->process_queue(0));
  EXPECT_EQ(q_.rx.used_idx(), 0) << "nothing to receive yet";
  const auto frame = make_frame(100, 42, /*num_buffers=*/0x7777);
  backend_->send(frame);
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 1);
  EXPECT_EQ(q_.rx.used_id(0), head);
  EXPECT_EQ(q_.rx.used_len(0), 112u);
  EXPECT_EQ(guest_bytes(kRxBuf, 112), as_received(frame)) << "num_buffers is 1 (§5.1.6.4)";
  EXPECT_EQ(irq_.used, 1);
  const auto c = net_->counters();
  EXPECT_EQ(c.rx_packets, 1u);
  EXPECT_EQ(c.rx_bytes, 100u);
}

TEST_F(VirtioNetTest, ReceiveHeaderAcrossBuffers) {
  create();
  activate();
  // num_buffers (bytes 10-11) straddles the first two buffers.
  guest_post_rx({11, 1, 600}, kRxBuf);
  const auto frame = make_frame(500, 5);
  backend_->send(frame);
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 1);
  EXPECT_EQ(q_.rx.used_len(0), 512u);
  EXPECT_EQ(guest_bytes(kRxBuf, 512), as_received(frame)) << "the buffers are contiguous here";
}

TEST_F(VirtioNetTest, WithoutReceiveBuffersFramesWaitInTheBackend) {
  create();
  activate();
  std::vector<std::vector<uint8_t>> frames;
  for (uint8_t i = 0; i < 3; ++i) {
    frames.push_back(make_frame(64 + i, i));
    backend_->send(frames.back());
  }
  ok(net_->process_event(VirtioNet::kBackendEvent));
  EXPECT_EQ(q_.rx.used_idx(), 0);
  EXPECT_TRUE(backend_->device_side_has_data()) << "nothing read without a buffer to put it in";
  // The driver adds two buffers and notifies: no new backend edge is needed.
  guest_post_rx({2048}, kRxBuf);
  guest_post_rx({2048}, kRxBuf + 0x1000);
  ok(net_->process_queue(0));
  ASSERT_EQ(q_.rx.used_idx(), 2);
  EXPECT_EQ(guest_bytes(kRxBuf, frames[0].size()), as_received(frames[0]));
  EXPECT_EQ(guest_bytes(kRxBuf + 0x1000, frames[1].size()), as_received(frames[1]));
  guest_post_rx({2048}, kRxBuf + 0x2000);
  ok(net_->process_queue(0));
  ASSERT_EQ(q_.rx.used_idx(), 3);
  EXPECT_EQ(guest_bytes(kRxBuf + 0x2000, frames[2].size()), as_received(frames[2]));
  EXPECT_FALSE(backend_->device_side_has_data());
  // Drained: a buffer alone reads nothing; the next frame's edge delivers it.
  guest_post_rx({2048}, kRxBuf + 0x3000);
  ok(net_->process_queue(0));
  EXPECT_EQ(q_.rx.used_idx(), 3);
  backend_->send(make_frame(80, 9));
  ok(net_->process_event(VirtioNet::kBackendEvent));
  EXPECT_EQ(q_.rx.used_idx(), 4);
  EXPECT_EQ(net_->counters().rx_packets, 4u);
}

TEST_F(VirtioNetTest, FrameTooBigForTheChainIsDroppedAndTheChainKept) {
  create();
  activate();
  const uint16_t head = guest_post_rx({100}, kRxBuf);
  backend_->send(make_frame(200, 1));
  const auto small = make_frame(50, 2);
  backend_->send(small);
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 1);
  EXPECT_EQ(q_.rx.used_id(0), head) << "the same chain took the next frame";
  EXPECT_EQ(q_.rx.used_len(0), 62u);
  EXPECT_EQ(guest_bytes(kRxBuf, 62), as_received(small));
  const auto c = net_->counters();
  EXPECT_EQ(c.rx_dropped, 1u);
  EXPECT_EQ(c.rx_packets, 1u);
}

TEST_F(VirtioNetTest, ExactFitIsNotTooBig) {
  create();
  activate();
  guest_post_rx({112}, kRxBuf);
  backend_->send(make_frame(100, 1));
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 1);
  EXPECT_EQ(q_.rx.used_len(0), 112u);
}

TEST_F(VirtioNetTest, MalformedReceiveChainsAreReturnedEmpty) {
  create();
  activate();
  q_.rx.add_chain({{kRxBuf, 12, false}, {kRxBuf + 12, 1000, true}}, 0);  // a readable buffer
  q_.rx.add_chain({{kRxBuf + 0x1000, 8, true}}, 2);                       // no room for a header
  const uint16_t good = q_.rx.add_chain({{kRxBuf + 0x2000, 2048, true}}, 3);
  const auto frame = make_frame(70, 4);
  backend_->send(frame);
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 3);
  EXPECT_EQ(q_.rx.used_len(0), 0u);
  EXPECT_EQ(q_.rx.used_len(1), 0u);
  EXPECT_EQ(q_.rx.used_id(2), good);
  EXPECT_EQ(guest_bytes(kRxBuf + 0x2000, frame.size()), as_received(frame));
  EXPECT_EQ(net_->counters().rx_errors, 2u);
}

TEST_F(VirtioNetTest, BackendFrameShorterThanHeaderIsDropped) {
  create();
  activate();
  guest_post_rx({2048}, kRxBuf);
  backend_->send({1, 2, 3, 4, 5});
  ok(net_->process_event(VirtioNet::kBackendEvent));
  EXPECT_EQ(q_.rx.used_idx(), 0);
  EXPECT_EQ(net_->counters().rx_dropped, 1u);
}

// ---- rate limiting --------------------------------------------------------------------------

TEST_F(VirtioNetTest, TransmitRateLimitHoldsTheChainUntilTheTimer) {
  VirtioNetConfig c = default_config();
  c.tx_rate_limiter.ops = TokenBucketLimits{1, 0, 100};  // one frame per 100 ms
  create(c);
  activate();
  const auto first = make_frame(60, 1), second = make_frame(61, 2);
  guest_send(first);
  guest_send(second);
  EXPECT_EQ(backend_->receive(), first);
  EXPECT_TRUE(backend_->receive().empty()) << "held by the limiter";
  EXPECT_EQ(q_.tx.used_idx(), 1) << "the held chain is not returned";
  EXPECT_EQ(net_->counters().tx_rate_limited, 1u);
  // More notifications while blocked change nothing (and count once).
  ok(net_->process_queue(1));
  EXPECT_EQ(net_->counters().tx_rate_limited, 1u);
  const int timer = registrar_.fd_for(VirtioNet::kTxRateLimiterEvent);
  itimerspec spec{};
  ASSERT_EQ(::timerfd_gettime(timer, &spec), 0);
  EXPECT_TRUE(spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0) << "timer armed";
  clock_.advance_ms(100);
  ok(net_->process_event(VirtioNet::kTxRateLimiterEvent));
  EXPECT_EQ(backend_->receive(), second);
  EXPECT_EQ(q_.tx.used_idx(), 2);
}

TEST_F(VirtioNetTest, TransmitBandwidthLimitCountsHeaderAndFrame) {
  VirtioNetConfig c = default_config();
  c.tx_rate_limiter.bandwidth = TokenBucketLimits{1000, 0, 1000};
  create(c);
  activate();
  guest_send(make_frame(488, 1));  // 500 bytes with the header
  guest_send(make_frame(488, 2));
  guest_send(make_frame(488, 3));
  EXPECT_EQ(net_->counters().tx_packets, 2u);
  clock_.advance_ms(499);
  ok(net_->process_event(VirtioNet::kTxRateLimiterEvent));
  EXPECT_EQ(net_->counters().tx_packets, 2u) << "499 tokens are not enough";
  clock_.advance_ms(1);
  ok(net_->process_event(VirtioNet::kTxRateLimiterEvent));
  EXPECT_EQ(net_->counters().tx_packets, 3u);
}

TEST_F(VirtioNetTest, ReceiveRateLimitParksTheFrameInTheGuestBuffer) {
  VirtioNetConfig c = default_config();
  c.rx_rate_limiter.ops = TokenBucketLimits{1, 0, 100};
  create(c);
  activate();
  guest_post_rx({2048}, kRxBuf);
  guest_post_rx({2048}, kRxBuf + 0x1000);
  const auto a = make_frame(60, 1), b = make_frame(70, 2), third = make_frame(80, 3);
  backend_->send(a);
  backend_->send(b);
  backend_->send(third);
  ok(net_->process_event(VirtioNet::kBackendEvent));
  ASSERT_EQ(q_.rx.used_idx(), 1);
  EXPECT_EQ(net_->counters().rx_rate_limited, 1u);
  EXPECT_EQ(guest_bytes(kRxBuf + 0x1000, b.size()), as_received(b)) << "read, not published";
  EXPECT_TRUE(backend_->device_side_has_data()) << "nothing more read while blocked";
  ok(net_->process_event(VirtioNet::kBackendEvent));
  EXPECT_EQ(q_.rx.used_idx(), 1);
  clock_.advance_ms(100);
  ok(net_->process_event(VirtioNet::kRxRateLimiterEvent));
  ASSERT_EQ(q_.rx.used_idx(), 2);
  EXPECT_EQ(q_.rx.used_len(1), b.size());
  EXPECT_EQ(net_->counters().rx_packets, 2u);
}

TEST_F(VirtioNetTest, PatchingLimitersUnblocksThroughTheTimer) {
  VirtioNetConfig c = default_config();
  c.tx_rate_limiter.ops = TokenBucketLimits{1, 0, 1'000'000};  // one frame per 1000 s
  create(c);
  activate();
  guest_send(make_frame(60, 1));
  guest_send(make_frame(60, 2));
  EXPECT_EQ(net_->counters().tx_packets, 1u);
  net_->update_rate_limiters({}, {.ops = TokenBucketLimits{0, 0, 0}});
  EXPECT_FALSE(net_->tx_rate_limits().ops.has_value());
  const int timer = registrar_.fd_for(VirtioNet::kTxRateLimiterEvent);
  pollfd p{timer, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1) << "the timer fires at once";
  ok(net_->process_event(VirtioNet::kTxRateLimiterEvent));
  EXPECT_EQ(net_->counters().tx_packets, 2u);
  net_->update_rate_limiters({.bandwidth = TokenBucketLimits{10, 0, 10}}, {});
  EXPECT_EQ(net_->rx_rate_limits().bandwidth, (TokenBucketLimits{10, 0, 10}));
}

TEST_F(VirtioNetTest, ResetForgetsHeldChainsAndCancelsTimers) {
  VirtioNetConfig c = default_config();
  c.tx_rate_limiter.ops = TokenBucketLimits{1, 0, 1'000'000};
  create(c);
  activate();
  guest_send(make_frame(60, 1));
  guest_send(make_frame(60, 2));
  const int timer = registrar_.fd_for(VirtioNet::kTxRateLimiterEvent);
  net_->reset();
  itimerspec spec{};
  ASSERT_EQ(::timerfd_gettime(timer, &spec), 0);
  EXPECT_EQ(spec.it_value.tv_sec | spec.it_value.tv_nsec, 0) << "disarmed";
  ok(net_->process_queue(1));  // inactive: ignored
  ok(net_->process_event(VirtioNet::kBackendEvent));
}

// ---- snapshots ------------------------------------------------------------------------------

TEST_F(VirtioNetTest, SnapshotReturnsHeldChainsAndKeepsLimiterBudgets) {
  VirtioNetConfig c = default_config();
  c.tx_rate_limiter.ops = TokenBucketLimits{1, 0, 1000};
  c.rx_rate_limiter.bandwidth = TokenBucketLimits{100000, 0, 1000};
  create(c);
  activate();
  guest_send(make_frame(60, 1));
  const uint16_t held = guest_send(make_frame(60, 2));  // held by the limiter
  guest_post_rx({2048}, kRxBuf);
  backend_->send(make_frame(100, 3));
  ok(net_->process_event(VirtioNet::kBackendEvent));  // 112 bytes of the rx budget spent
  const auto saved = net_->save_device_state();
  const auto rx_state = q_.queues()[0].save_state();
  const auto tx_state = q_.queues()[1].save_state();
  (void)backend_->receive();

  // A new device with the same configuration, restored; the transport then re-activates.
  auto restored_backend = std::make_unique<SocketBackend>();
  SocketBackend* rb = restored_backend.get();
  RecordingRegistrar registrar2;
  FakeClock clock2;
  auto net2 = VirtioNet::create_with_backend(c, std::move(restored_backend), registrar2, clock2);
  ASSERT_TRUE(net2.ok());
  ok((*net2)->restore_device_state(saved));
  EXPECT_EQ((*net2)->rx_rate_limits().bandwidth, (TokenBucketLimits{100000, 0, 1000}));
  q_.restore(rx_state, tx_state);
  const uint16_t used_before = q_.tx.used_idx();
  ok((*net2)->activate(q_.mem, kAllOffered | kMac, q_.queues(), irq_));
  ASSERT_EQ(q_.tx.used_idx(), used_before + 1) << "the held chain went back to the driver";
  EXPECT_EQ(q_.tx.used_id(used_before), held);
  EXPECT_EQ(q_.tx.used_len(used_before), 0u);
  EXPECT_TRUE(rb->receive().empty()) << "its frame is lost, as documented";
  // The saved ops bucket was empty: the next frame waits for the refill.
  guest_send(make_frame(60, 4), {}, false);
  ok((*net2)->process_queue(1));
  EXPECT_EQ((*net2)->counters().tx_packets, 0u);
  clock2.advance_ms(1000);
  ok((*net2)->process_event(VirtioNet::kTxRateLimiterEvent));
  EXPECT_EQ((*net2)->counters().tx_packets, 1u);
}

TEST_F(VirtioNetTest, RestoreRejectsBadOrMismatchedState) {
  create();
  const auto saved = net_->save_device_state();
  EXPECT_FALSE(net_->restore_device_state(std::span(saved).first(saved.size() - 1)).ok());
  auto bad = saved;
  bad[0] = 9;  // version
  EXPECT_FALSE(net_->restore_device_state(bad).ok());

  VirtioNetConfig no_mac = default_config();
  no_mac.guest_mac.reset();
  auto backend = std::make_unique<SocketBackend>();
  RecordingRegistrar registrar2;
  auto other = VirtioNet::create_with_backend(no_mac, std::move(backend), registrar2, clock_);
  ASSERT_TRUE(other.ok());
  auto r = (*other)->restore_device_state(saved);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("MAC"), std::string::npos) << r.error().message;
  ok(net_->restore_device_state(saved));
}

TEST_F(VirtioNetTest, RestoredMacIsTheSnapshots) {
  create();
  auto saved = net_->save_device_state();
  VirtioNetConfig c = default_config();
  c.guest_mac = NetMacAddress{0x02, 1, 2, 3, 4, 5};
  auto backend = std::make_unique<SocketBackend>();
  RecordingRegistrar registrar2;
  auto other = VirtioNet::create_with_backend(c, std::move(backend), registrar2, clock_);
  ASSERT_TRUE(other.ok());
  ok((*other)->restore_device_state(saved));
  EXPECT_EQ((*other)->guest_mac(), default_config().guest_mac);
}

// ---- through the MMIO transport -------------------------------------------------------------

TEST(VirtioNetMmio, DriverSeesMacAndSendsAFrame) {
  NetQueues q;
  RecordingRegistrar registrar;
  auto backend = std::make_unique<SocketBackend>();
  SocketBackend* sock = backend.get();
  auto net = VirtioNet::create_with_backend(default_config(), std::move(backend), registrar);
  ASSERT_TRUE(net.ok());
  auto irq = std::make_shared<virtio_testing::CountingIrqLine>();
  VirtioMmioTransport t(std::shared_ptr<VirtioDevice>(std::move(net).value()), q.mem, irq);
  const auto rd = [&](uint64_t off) {
    uint32_t v = 0;
    t.read(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  };
  const auto wr = [&](uint64_t off, uint32_t v) {
    t.write(off, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), 4));
  };
  EXPECT_EQ(rd(0x008), 1u) << "network card";
  uint8_t mac[6];
  t.read(0x100, mac);
  EXPECT_EQ(mac[0], 0x06);
  EXPECT_EQ(mac[5], 0x02);
  wr(0x070, 1);
  wr(0x070, 3);
  const uint64_t features = kVersion1 | kMac | kCsum | kGuestCsum;
  wr(0x024, 0);
  wr(0x020, static_cast<uint32_t>(features));
  wr(0x024, 1);
  wr(0x020, static_cast<uint32_t>(features >> 32));
  wr(0x070, 11);
  ASSERT_NE(rd(0x070) & 8, 0u);
  const virtio_testing::GuestQueue* guest[2] = {&q.rx, &q.tx};
  for (uint32_t i = 0; i < 2; ++i) {
    wr(0x030, i);
    wr(0x038, 16);
    wr(0x080, static_cast<uint32_t>(guest[i]->desc_addr()));
    wr(0x090, static_cast<uint32_t>(guest[i]->avail_addr()));
    wr(0x0a0, static_cast<uint32_t>(guest[i]->used_addr()));
    wr(0x044, 1);
  }
  wr(0x070, 15);
  ASSERT_TRUE(t.device_active());
  const auto frame = make_frame(42, 8);
  ASSERT_TRUE(q.mem.write(kTxBuf, frame).ok());
  q.tx.add_chain({{kTxBuf, static_cast<uint32_t>(frame.size()), false}}, 0);
  wr(0x050, 1);
  EXPECT_EQ(sock->receive(), frame);
  EXPECT_EQ(q.tx.used_idx(), 1);
  EXPECT_EQ(irq->take(), 1);
  // A frame from the host: the backend event through the transport.
  q.rx.add_chain({{kRxBuf, 1526, true}}, 0);
  wr(0x050, 0);
  sock->send(make_frame(30, 1));
  t.process_device_event(VirtioNet::kBackendEvent);
  EXPECT_EQ(q.rx.used_idx(), 1);
  EXPECT_EQ(q.rx.used_len(0), 42u);
}


// ---- a detour: the interface's own service (the MMDS) ---------------------------------------

// Claims frames whose first byte (the destination MAC's first) is 0xAA; answers with what
// the test queues.
class FakeDetour final : public FrameDetour {
 public:
  bool wants(std::span<const uint8_t> head) const override {
    peeked.push_back(head.size());
    return !head.empty() && head[0] == 0xAA;
  }
  void take(std::span<const uint8_t> frame, bool checksum_partial) override {
    taken.emplace_back(frame.begin(), frame.end());
    partial.push_back(checksum_partial);
  }
  bool has_frame() override { return !answers.empty(); }
  size_t next_frame(std::span<uint8_t> buf) override {
    if (answers.empty()) return 0;
    std::vector<uint8_t> a = answers.front();
    answers.erase(answers.begin());
    EXPECT_GE(buf.size(), FrameDetour::kMaxFrameBytes);
    std::memcpy(buf.data(), a.data(), a.size());
    return a.size();
  }
  mutable std::vector<size_t> peeked;
  std::vector<std::vector<uint8_t>> taken;
  std::vector<bool> partial;
  std::vector<std::vector<uint8_t>> answers;
};

// An Ethernet frame of `len` bytes (no virtio header) starting with `first`.
std::vector<uint8_t> ethernet(size_t len, uint8_t first) {
  std::vector<uint8_t> f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<uint8_t>(first + i * 7);
  return f;
}
std::vector<uint8_t> with_header(const std::vector<uint8_t>& frame, uint8_t flags = 0) {
  std::vector<uint8_t> f(kHdr, 0);
  f[0] = flags;
  f.insert(f.end(), frame.begin(), frame.end());
  return f;
}

TEST_F(VirtioNetTest, DetourTakesItsFramesAndTheTapNeverSeesThem) {
  create();
  auto detour = std::make_shared<FakeDetour>();
  net_->set_detour(detour);
  activate();
  const auto mine = ethernet(300, 0xAA);
  // Header cut inside the peeked bytes and the frame in pieces: the detour sees it whole.
  const uint16_t head = guest_send(with_header(mine, /*NEEDS_CSUM*/ 1), {5, 7, 20});
  EXPECT_TRUE(backend_->receive().empty()) << "a detoured frame never reaches the tap";
  ASSERT_EQ(detour->taken.size(), 1u);
  EXPECT_EQ(detour->taken[0], mine);
  EXPECT_TRUE(detour->partial[0]) << "VIRTIO_NET_HDR_F_NEEDS_CSUM is passed on";
  EXPECT_EQ(detour->peeked.back(), FrameDetour::kPeekBytes);
  ASSERT_EQ(q_.tx.used_idx(), 1);
  EXPECT_EQ(q_.tx.used_id(0), head);
  EXPECT_EQ(q_.tx.used_len(0), 0u);
  EXPECT_EQ(net_->counters().tx_detoured, 1u);
  EXPECT_EQ(net_->counters().tx_packets, 0u);

  // Anything else goes to the tap as before, byte for byte; a short frame is peeked short.
  const auto other = with_header(ethernet(20, 0x02));
  guest_send(other);
  EXPECT_EQ(backend_->receive(), other);
  EXPECT_EQ(detour->peeked.back(), 20u);
  EXPECT_EQ(detour->taken.size(), 1u);
  EXPECT_EQ(net_->counters().tx_packets, 1u);
}

TEST_F(VirtioNetTest, DetourAnswersGoFirstAndWaitForReceiveBuffers) {
  create();
  auto detour = std::make_shared<FakeDetour>();
  net_->set_detour(detour);
  activate();
  // A tap frame and an answer are both waiting; no receive buffer yet.
  const auto tap_frame = make_frame(80, 3);
  backend_->send(tap_frame);
  detour->answers.push_back(ethernet(60, 0x10));
  guest_send(with_header(ethernet(64, 0xAA)));  // the request that prompts the answer
  EXPECT_EQ(q_.rx.used_idx(), 0);
  // The guest posts two buffers and notifies: the answer first, then the tap's frame.
  guest_post_rx({1526}, kRxBuf);
  guest_post_rx({1526}, kRxBuf + 0x1000);
  ok(net_->process_queue(0));
  ASSERT_EQ(q_.rx.used_idx(), 2);
  EXPECT_EQ(q_.rx.used_len(0), kHdr + 60);
  std::vector<uint8_t> expected(kHdr, 0);
  expected[10] = 1;  // num_buffers (§5.1.6.4); flags 0: checksums are done
  const auto answer = ethernet(60, 0x10);
  expected.insert(expected.end(), answer.begin(), answer.end());
  EXPECT_EQ(guest_bytes(kRxBuf, kHdr + 60), expected);
  EXPECT_EQ(q_.rx.used_len(1), tap_frame.size());
  EXPECT_EQ(guest_bytes(kRxBuf + 0x1000, tap_frame.size()), as_received(tap_frame));
  EXPECT_EQ(net_->counters().rx_packets, 2u);
}

TEST_F(VirtioNetTest, DetourAnswerTooBigForTheChainIsDroppedAndTheChainKept) {
  create();
  auto detour = std::make_shared<FakeDetour>();
  net_->set_detour(detour);
  activate();
  guest_post_rx({100}, kRxBuf);
  detour->answers.push_back(ethernet(200, 0x10));
  detour->answers.push_back(ethernet(50, 0x20));
  guest_send(with_header(ethernet(64, 0xAA)));
  ASSERT_EQ(q_.rx.used_idx(), 1) << "the second answer took the chain the first could not";
  EXPECT_EQ(q_.rx.used_len(0), kHdr + 50);
  EXPECT_EQ(net_->counters().rx_dropped, 1u);
  EXPECT_TRUE(detour->answers.empty());
}

}  // namespace
}  // namespace ember
