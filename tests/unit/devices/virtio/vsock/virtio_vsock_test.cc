// virtio-vsock end to end: a guest driver on the three queues, host processes on Unix
// sockets, and an epoll loop in between (vsock_test_util.h).
#include "devices/virtio/vsock/virtio_vsock.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.h"
#include "tests/unit/devices/virtio/vsock/vsock_test_util.h"

namespace ember {
namespace {

using namespace vsock;  // NOLINT(google-build-using-namespace): the spec's names
using vsock_testing::at_eof;
using vsock_testing::GuestPacket;
using vsock_testing::read_available;
using vsock_testing::unix_connect;
using vsock_testing::unix_listen;
using vsock_testing::write_all;

constexpr uint32_t kGuestCid = 3;

std::string pattern(size_t n, size_t offset = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (offset + i) % 23);
  return s;
}

class VirtioVsockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ember-vsock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    uds_ = dir_ + "/v.sock";
    config_.guest_cid = kGuestCid;
    config_.uds_path = uds_;
    config_.queue_size = 64;
  }
  void TearDown() override {
    device_.reset();
    std::filesystem::remove_all(dir_);
  }

  void create() {
    auto dev = VirtioVsock::create(config_, registrar_);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    device_ = std::move(dev).value();
  }
  void start(bool post_rx = true) {
    create();
    driver_.activate(*device_);
    if (post_rx) driver_.post_rx(16);
  }
  void settle() { registrar_.settle(*device_); }
  // Packets the guest received; their buffers go straight back to the device.
  std::vector<GuestPacket> rx(bool repost = true) {
    auto packets = driver_.take_rx();
    if (repost && !packets.empty()) driver_.post_rx(static_cast<int>(packets.size()));
    return packets;
  }
  PacketHeader guest(uint16_t op, uint32_t src_port, uint32_t dst_port) const {
    PacketHeader h;
    h.src_cid = kGuestCid;
    h.dst_cid = kHostCid;
    h.src_port = src_port;
    h.dst_port = dst_port;
    h.type = kTypeStream;
    h.op = op;
    h.buf_alloc = guest_buf_alloc_;
    h.fwd_cnt = guest_fwd_cnt_;
    return h;
  }
  void send_rw(uint32_t src_port, uint32_t dst_port, const std::string& data) {
    PacketHeader h = guest(kOpRw, src_port, dst_port);
    h.len = static_cast<uint32_t>(data.size());
    driver_.send(h, data);
  }

  // A host-initiated connection through the whole handshake.
  struct Link {
    UniqueFd host;
    uint32_t host_port = 0;
    uint32_t guest_port = 0;
  };
  Link host_connect(uint32_t guest_port) {
    Link l;
    l.guest_port = guest_port;
    l.host = unix_connect(uds_);
    write_all(l.host.get(), "CONNECT " + std::to_string(guest_port) + "\n");
    settle();
    auto packets = rx();
    EXPECT_EQ(packets.size(), 1u);
    if (packets.size() != 1) return l;
    const PacketHeader& req = packets[0].hdr;
    EXPECT_EQ(req.op, kOpRequest);
    EXPECT_EQ(req.src_cid, kHostCid);
    EXPECT_EQ(req.dst_cid, kGuestCid);
    EXPECT_EQ(req.dst_port, guest_port);
    EXPECT_EQ(req.type, kTypeStream);
    EXPECT_EQ(req.buf_alloc, config_.buf_alloc);
    l.host_port = req.src_port;
    driver_.send(guest(kOpResponse, guest_port, l.host_port));
    settle();
    EXPECT_EQ(read_available(l.host.get(), 1000), "OK " + std::to_string(l.host_port) + "\n");
    return l;
  }

  // RW payloads to `port`, concatenated; other packets are collected in `others`.
  std::string guest_data(const std::vector<GuestPacket>& packets, uint32_t port,
                         std::vector<GuestPacket>* others = nullptr) {
    std::string s;
    for (const auto& p : packets) {
      if (p.hdr.op == kOpRw && p.hdr.dst_port == port) {
        s += p.text();
      } else if (others != nullptr) {
        others->push_back(p);
      }
    }
    return s;
  }

  std::string dir_;
  std::string uds_;
  VirtioVsockConfig config_;
  vsock_testing::EpollRegistrar registrar_;
  GuestMemory mem_ = virtio_testing::make_memory();
  vsock_testing::GuestVsockDriver driver_{mem_};
  std::shared_ptr<VirtioVsock> device_;
  uint32_t guest_buf_alloc_ = 64 * 1024;
  uint32_t guest_fwd_cnt_ = 0;
};

TEST_F(VirtioVsockTest, IdentityThroughTheTransport) {
  create();
  auto irq = std::make_shared<virtio_testing::CountingIrqLine>();
  VirtioMmioTransport transport(device_, mem_, irq);
  auto rd = [&](uint64_t offset) {
    uint32_t v = 0;
    transport.read(offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  };
  auto wr = [&](uint64_t offset, uint32_t v) {
    transport.write(offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), 4));
  };
  EXPECT_EQ(rd(0x008), 19u);
  wr(0x014, 0);
  EXPECT_EQ(rd(0x010), (1u << 28) | (1u << 29)) << "INDIRECT_DESC, EVENT_IDX";
  wr(0x014, 1);
  EXPECT_EQ(rd(0x010), 1u) << "VERSION_1, no SEQPACKET";
  EXPECT_EQ(transport.queue_count(), 3u);
  uint64_t cid = 0;
  transport.read(0x100, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&cid), 8));
  EXPECT_EQ(cid, kGuestCid);
  EXPECT_EQ(rd(0x108), 0u);
  EXPECT_FALSE(registrar_.watched(device_->listener_fd())) << "nothing watched before DRIVER_OK";
}

TEST_F(VirtioVsockTest, CreateRefusesBadConfigs) {
  {
    std::ofstream(uds_) << "x";
    auto r = VirtioVsock::create(config_, registrar_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("already exists"), std::string::npos) << r.error().message;
    std::filesystem::remove(uds_);
  }
  VirtioVsockConfig c = config_;
  c.uds_path = dir_ + "/" + std::string(120, 's');
  auto r = VirtioVsock::create(c, registrar_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos) << r.error().message;
  for (uint32_t cid : {0u, 1u, 2u, 0xffffffffu}) {
    c = config_;
    c.guest_cid = cid;
    EXPECT_FALSE(VirtioVsock::create(c, registrar_).ok()) << cid;
  }
  c = config_;
  c.uds_path = "";
  EXPECT_FALSE(VirtioVsock::create(c, registrar_).ok());
  c = config_;
  c.queue_size = 100;
  EXPECT_FALSE(VirtioVsock::create(c, registrar_).ok());
  c = config_;
  c.buf_alloc = 100;
  EXPECT_FALSE(VirtioVsock::create(c, registrar_).ok());
  c = config_;
  c.max_connections = 0;
  EXPECT_FALSE(VirtioVsock::create(c, registrar_).ok());
  EXPECT_FALSE(std::filesystem::exists(uds_)) << "a refused config leaves nothing behind";

  create();
  struct stat st{};
  ASSERT_EQ(::lstat(uds_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  device_.reset();
  EXPECT_FALSE(std::filesystem::exists(uds_)) << "the socket goes with the device";
}

TEST_F(VirtioVsockTest, HostInitiatedConnection) {
  start();
  Link l = host_connect(52);
  EXPECT_EQ(l.host_port, 1u << 30) << "host ports are assigned from 2^30";
  write_all(l.host.get(), "ping");
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRw);
  EXPECT_EQ(packets[0].hdr.src_port, l.host_port);
  EXPECT_EQ(packets[0].hdr.dst_port, 52u);
  EXPECT_EQ(packets[0].hdr.buf_alloc, config_.buf_alloc);
  EXPECT_EQ(packets[0].text(), "ping");

  send_rw(52, l.host_port, "pong");
  settle();
  EXPECT_EQ(read_available(l.host.get(), 1000), "pong");
  EXPECT_GT(driver_.interrupt.used, 0);

  const auto c = device_->counters();
  EXPECT_EQ(c.host_connections, 1u);
  EXPECT_EQ(c.active_connections, 1u);
  EXPECT_EQ(c.rx_bytes, 4u);
  EXPECT_EQ(c.tx_bytes, 4u);
  EXPECT_EQ(c.bad_packets, 0u);

  // A second connection to the same guest port gets its own host port.
  Link l2 = host_connect(52);
  EXPECT_EQ(l2.host_port, (1u << 30) + 1);
  EXPECT_EQ(device_->connection_count(), 2u);
}

TEST_F(VirtioVsockTest, SplitRxBuffersAndEarlyHostBytes) {
  create();
  driver_.activate(*device_);
  driver_.post_rx(8, 44 + 100, /*split=*/true);
  UniqueFd host = unix_connect(uds_);
  // The host sends its first bytes together with the command; they wait for the RESPONSE.
  write_all(host.get(), "CONNECT 7\nearly bytes");
  settle();
  auto packets = rx(false);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRequest);
  const uint32_t host_port = packets[0].hdr.src_port;
  driver_.send(guest(kOpResponse, 7, host_port));
  settle();
  EXPECT_EQ(read_available(host.get(), 1000), "OK " + std::to_string(host_port) + "\n");
  EXPECT_EQ(guest_data(rx(false), 7), "early bytes");
}

TEST_F(VirtioVsockTest, WithEventIdx) {
  create();
  driver_.activate(*device_, /*event_idx=*/true);
  driver_.post_rx(8);
  Link l = host_connect(53);
  write_all(l.host.get(), "suppressed notifications");
  settle();
  EXPECT_EQ(guest_data(rx(), 53), "suppressed notifications");
  send_rw(53, l.host_port, "back");
  settle();
  EXPECT_EQ(read_available(l.host.get(), 1000), "back");
}

TEST_F(VirtioVsockTest, NoRxBuffersNoSpinning) {
  start(/*post_rx=*/false);
  UniqueFd host = unix_connect(uds_);
  write_all(host.get(), "CONNECT 9\n");
  settle();  // the REQUEST waits for an rx buffer without a busy loop
  EXPECT_TRUE(driver_.take_rx().empty());
  driver_.post_rx(1);
  settle();
  auto packets = rx(false);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRequest);
  driver_.send(guest(kOpResponse, 9, packets[0].hdr.src_port));
  settle();
  EXPECT_EQ(read_available(host.get(), 1000).substr(0, 3), "OK ");

  write_all(host.get(), "waiting");
  settle();  // readable host socket, no rx buffer: must not spin
  EXPECT_TRUE(driver_.take_rx().empty());
  driver_.post_rx(1);
  settle();
  EXPECT_EQ(guest_data(rx(false), 9), "waiting");
}

TEST_F(VirtioVsockTest, HostToGuestRespectsGuestCredit) {
  start();
  guest_buf_alloc_ = 1000;
  Link l = host_connect(80);
  const std::string data = pattern(5000);
  write_all(l.host.get(), data);
  settle();
  std::vector<GuestPacket> others;
  std::string got = guest_data(rx(), 80, &others);
  EXPECT_EQ(got.size(), 1000u) << "no more than the guest's buf_alloc";
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].hdr.op, kOpCreditRequest) << "the device asks once for more credit";
  settle();
  EXPECT_TRUE(rx().empty()) << "nothing more until the guest frees space";

  // The guest application read 1000 bytes.
  guest_fwd_cnt_ = 1000;
  driver_.send(guest(kOpCreditUpdate, 80, l.host_port));
  settle();
  got += guest_data(rx(), 80);
  EXPECT_EQ(got.size(), 2000u);

  guest_buf_alloc_ = 64 * 1024;
  guest_fwd_cnt_ = 2000;
  driver_.send(guest(kOpCreditUpdate, 80, l.host_port));
  settle();
  got += guest_data(rx(), 80);
  EXPECT_EQ(got, data) << "all of it, in order";
}

TEST_F(VirtioVsockTest, CreditRequestIsAnswered) {
  start();
  Link l = host_connect(81);
  driver_.send(guest(kOpCreditRequest, 81, l.host_port));
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpCreditUpdate);
  EXPECT_EQ(packets[0].hdr.buf_alloc, config_.buf_alloc);
  EXPECT_EQ(packets[0].hdr.fwd_cnt, 0u);
}

// The guest sends as fast as its credit allows while the host does not read: the device holds
// at most buf_alloc bytes, then the guest must wait; once the host reads, everything arrives
// in order and CREDIT_UPDATEs let the guest go on.
TEST_F(VirtioVsockTest, GuestToHostBuffersUpToItsCredit) {
  config_.buf_alloc = 16 * 1024;
  start();
  Link l = host_connect(90);
  uint32_t peer_buf_alloc = config_.buf_alloc, peer_fwd_cnt = 0, sent = 0;
  auto absorb = [&](const std::vector<GuestPacket>& packets) {
    for (const auto& p : packets) {
      peer_buf_alloc = p.hdr.buf_alloc;
      peer_fwd_cnt = p.hdr.fwd_cnt;
    }
  };
  constexpr uint32_t kChunk = 4096;
  for (int i = 0; i < 4000; ++i) {
    const uint32_t credit = peer_buf_alloc - (sent - peer_fwd_cnt);
    if (credit == 0) break;
    const uint32_t n = std::min(credit, kChunk);
    send_rw(90, l.host_port, pattern(n, sent));
    sent += n;
    settle();
    absorb(rx());
  }
  ASSERT_EQ(peer_buf_alloc - (sent - peer_fwd_cnt), 0u) << "the guest ran out of credit";
  EXPECT_EQ(sent - peer_fwd_cnt, config_.buf_alloc);
  EXPECT_EQ(device_->connection_count(), 1u);

  std::string got;
  for (int i = 0; i < 1000 && got.size() < sent; ++i) {
    got += read_available(l.host.get(), 10);
    settle();
    absorb(rx());
  }
  EXPECT_EQ(got.size(), sent);
  EXPECT_TRUE(got == pattern(sent)) << "bytes in order";
  EXPECT_EQ(peer_fwd_cnt, sent) << "a CREDIT_UPDATE told the guest everything was forwarded";
  EXPECT_EQ(device_->counters().tx_bytes, sent);
  EXPECT_EQ(device_->counters().bad_packets, 0u);
}

TEST_F(VirtioVsockTest, GuestOverrunningCreditIsReset) {
  config_.buf_alloc = 16 * 1024;
  start();
  Link l = host_connect(91);
  // Ignore the credit altogether: the host socket fills, then the device's buffer, then RST.
  bool reset = false;
  uint32_t sent = 0;
  for (int i = 0; i < 4000 && !reset; ++i) {
    send_rw(91, l.host_port, pattern(4096, sent));
    sent += 4096;
    settle();
    for (const auto& p : rx()) reset |= p.hdr.op == kOpRst;
  }
  ASSERT_TRUE(reset);
  EXPECT_EQ(device_->counters().bad_packets, 1u);
  EXPECT_EQ(device_->connection_count(), 0u);
  // The host gets what was forwarded, then end of stream.
  std::string got;
  while (!at_eof(l.host.get(), 100)) got += read_available(l.host.get());
  EXPECT_LT(got.size(), sent);
  EXPECT_TRUE(got == pattern(got.size()));
}

TEST_F(VirtioVsockTest, GuestInitiatedConnection) {
  start();
  UniqueFd listener = unix_listen(uds_ + "_1234");
  driver_.send(guest(kOpRequest, 5000, 1234));
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpResponse);
  EXPECT_EQ(packets[0].hdr.src_cid, kHostCid);
  EXPECT_EQ(packets[0].hdr.src_port, 1234u);
  EXPECT_EQ(packets[0].hdr.dst_port, 5000u);
  EXPECT_EQ(packets[0].hdr.buf_alloc, config_.buf_alloc);
  UniqueFd host(::accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(host.valid());

  send_rw(5000, 1234, "hello host");
  settle();
  EXPECT_EQ(read_available(host.get(), 1000), "hello host");
  write_all(host.get(), "hello guest");
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.src_port, 1234u);
  EXPECT_EQ(packets[0].text(), "hello guest");
  EXPECT_EQ(device_->counters().guest_connections, 1u);

  // The host closes: the guest hears SHUTDOWN, closes too, and gets the final RST.
  host.reset();
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpShutdown);
  EXPECT_EQ(packets[0].hdr.flags, kShutdownSend);
  PacketHeader sd = guest(kOpShutdown, 5000, 1234);
  sd.flags = kShutdownBoth;
  driver_.send(sd);
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst);
  EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VirtioVsockTest, GuestConnectWithNobodyListening) {
  start();
  driver_.send(guest(kOpRequest, 5001, 4321));
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst);
  EXPECT_EQ(packets[0].hdr.src_cid, kHostCid);
  EXPECT_EQ(packets[0].hdr.dst_cid, kGuestCid);
  EXPECT_EQ(packets[0].hdr.src_port, 4321u);
  EXPECT_EQ(packets[0].hdr.dst_port, 5001u);
  EXPECT_EQ(device_->counters().refused_connections, 1u);
  EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VirtioVsockTest, HalfCloseEachWay) {
  start();
  Link l = host_connect(60);
  // Guest shuts its sending side: the host reads end of stream but may still write.
  PacketHeader sd = guest(kOpShutdown, 60, l.host_port);
  sd.flags = kShutdownSend;
  driver_.send(sd);
  settle();
  EXPECT_TRUE(at_eof(l.host.get(), 1000));
  write_all(l.host.get(), "still here");
  settle();
  EXPECT_EQ(guest_data(rx(), 60), "still here");
  send_rw(60, l.host_port, "too late");
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst) << "data after the guest's own SHUTDOWN";

  // Host shuts its sending side: the guest hears SHUTDOWN(SEND) and may still write.
  Link m = host_connect(61);
  ASSERT_EQ(::shutdown(m.host.get(), SHUT_WR), 0);
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpShutdown);
  EXPECT_EQ(packets[0].hdr.flags, kShutdownSend);
  send_rw(61, m.host_port, "reply");
  settle();
  EXPECT_EQ(read_available(m.host.get(), 1000), "reply");
  // The guest closes: RST, and the host socket ends.
  sd = guest(kOpShutdown, 61, m.host_port);
  sd.flags = kShutdownBoth;
  driver_.send(sd);
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst);
  EXPECT_TRUE(at_eof(m.host.get(), 1000));
}

TEST_F(VirtioVsockTest, HostHangsUpWhileTheGuestHasNoCredit) {
  start();
  guest_buf_alloc_ = 10;
  Link l = host_connect(62);
  write_all(l.host.get(), pattern(100));
  l.host.reset();  // fully closed, 90 bytes still unread
  settle();        // a hung-up socket the device cannot read must not spin
  std::string got = guest_data(rx(), 62);
  EXPECT_EQ(got.size(), 10u);
  guest_buf_alloc_ = 1000;
  driver_.send(guest(kOpCreditUpdate, 62, l.host_port));
  settle();
  std::vector<GuestPacket> others;
  got += guest_data(rx(), 62, &others);
  EXPECT_EQ(got, pattern(100));
  ASSERT_FALSE(others.empty());
  EXPECT_EQ(others.back().hdr.op, kOpShutdown);
}

TEST_F(VirtioVsockTest, BadPacketsAreAnsweredWithRst) {
  start();
  auto expect_rst = [&](const char* what, uint64_t src_cid, uint32_t src_port,
                        uint32_t dst_port) {
    settle();
    auto packets = rx();
    ASSERT_EQ(packets.size(), 1u) << what;
    EXPECT_EQ(packets[0].hdr.op, kOpRst) << what;
    EXPECT_EQ(packets[0].hdr.src_cid, src_cid) << what;
    EXPECT_EQ(packets[0].hdr.dst_cid, kGuestCid) << what;
    EXPECT_EQ(packets[0].hdr.src_port, src_port) << what;
    EXPECT_EQ(packets[0].hdr.dst_port, dst_port) << what;
  };
  auto expect_nothing = [&](const char* what) {
    settle();
    EXPECT_TRUE(rx().empty()) << what;
  };

  // Too short to have a header: nobody to answer.
  const auto header = encode_header(guest(kOpRequest, 1, 2));
  const uint64_t at = driver_.tx_space(64);
  ASSERT_TRUE(mem_.write(at, std::span(header).subspan(0, 30)).ok());
  const uint16_t used_before = driver_.tx_used();
  driver_.send_raw({{at, 30, false}});
  EXPECT_EQ(driver_.tx_used(), static_cast<uint16_t>(used_before + 1)) << "still returned";
  expect_nothing("short header");

  PacketHeader h = guest(kOpRw, 100, 200);
  h.len = 100;
  driver_.send(h, pattern(50));
  expect_rst("len beyond the chain", kHostCid, 200, 100);

  h = guest(kOpRw, 100, 200);
  h.len = kMaxPayload + 1;
  driver_.send(h, pattern(kMaxPayload + 1));
  expect_rst("len over 64 KiB", kHostCid, 200, 100);

  h = guest(kOpRequest, 100, 200);
  h.dst_cid = 7;
  driver_.send(h);
  expect_rst("another CID", 7, 200, 100);

  h = guest(kOpRequest, 100, 200);
  h.type = 2;  // SEQPACKET, not offered
  driver_.send(h);
  expect_rst("seqpacket", kHostCid, 200, 100);

  driver_.send(guest(99, 100, 200));
  expect_rst("unknown op", kHostCid, 200, 100);

  send_rw(100, 200, "nobody");
  expect_rst("data for no connection", kHostCid, 200, 100);

  driver_.send(guest(kOpRst, 100, 200));
  expect_nothing("an RST is never answered");

  h = guest(kOpRequest, 100, 200);
  h.src_cid = 9;
  driver_.send(h);
  expect_nothing("spoofed source CID");

  // On a live connection: RST, and the host socket closes.
  Link l = host_connect(70);
  driver_.send(guest(0, 70, l.host_port));
  expect_rst("op 0 on a connection", kHostCid, l.host_port, 70);
  EXPECT_TRUE(at_eof(l.host.get(), 1000));
  Link m = host_connect(71);
  driver_.send(guest(kOpRequest, 71, m.host_port));
  expect_rst("REQUEST for an existing connection", kHostCid, m.host_port, 71);
  EXPECT_TRUE(at_eof(m.host.get(), 1000));

  const auto c = device_->counters();
  EXPECT_EQ(c.bad_packets, 9u);
  EXPECT_EQ(device_->connection_count(), 0u);
  // Still serving.
  Link ok = host_connect(72);
  EXPECT_EQ(device_->connection_count(), 1u);
}

TEST_F(VirtioVsockTest, UnusableRxBuffersAreReturnedEmpty) {
  create();
  driver_.activate(*device_);
  // A driver-readable rx buffer, then one too small to carry any data.
  driver_.post_rx_raw({{0x40000, 100, false}}, 0);
  driver_.post_rx_raw({{0x42000, 44, true}}, 2);
  driver_.post_rx(1);
  driver_.send(guest(kOpRequest, 1, 2));  // answered by an RST
  settle();
  auto packets = driver_.take_rx();
  ASSERT_EQ(packets.size(), 1u) << "two returned with length 0, the RST in the third";
  EXPECT_EQ(packets[0].hdr.op, kOpRst);
}

TEST_F(VirtioVsockTest, MalformedConnectCommandsCloseTheHostSocket) {
  start();
  const std::string bad[] = {"CONNECT abc\n", "CONNECT 4294967296\n", "HELLO 52\n",
                             std::string(40, 'A'), "CONNECT\n"};
  for (const auto& line : bad) {
    UniqueFd host = unix_connect(uds_);
    write_all(host.get(), line);
    settle();
    EXPECT_TRUE(at_eof(host.get(), 1000)) << line;
  }
  UniqueFd quitter = unix_connect(uds_);
  write_all(quitter.get(), "CONNECT 5");
  ASSERT_EQ(::shutdown(quitter.get(), SHUT_WR), 0);
  settle();
  EXPECT_TRUE(at_eof(quitter.get(), 1000));
  EXPECT_TRUE(rx().empty()) << "the guest heard of none of them";
  EXPECT_EQ(device_->counters().refused_connections, 6u);
  EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VirtioVsockTest, UnansweredRequestTimesOut) {
  config_.connect_timeout = std::chrono::milliseconds(50);
  start();
  UniqueFd host = unix_connect(uds_);
  write_all(host.get(), "CONNECT 33\n");
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  const uint32_t host_port = packets[0].hdr.src_port;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!at_eof(host.get()) && std::chrono::steady_clock::now() < until)
    registrar_.dispatch(*device_, 20);
  EXPECT_TRUE(at_eof(host.get())) << "the host socket is closed without OK";
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst) << "the guest is told the request is off";
  EXPECT_EQ(packets[0].hdr.src_port, host_port);
  EXPECT_EQ(device_->counters().connect_timeouts, 1u);

  // A late answer finds no connection.
  driver_.send(guest(kOpResponse, 33, host_port));
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst);
}

TEST_F(VirtioVsockTest, GuestRefusesHostConnection) {
  start();
  UniqueFd host = unix_connect(uds_);
  write_all(host.get(), "CONNECT 34\n");
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  driver_.send(guest(kOpRst, 34, packets[0].hdr.src_port));
  settle();
  EXPECT_EQ(read_available(host.get(), 1000), "") << "no OK";
  EXPECT_TRUE(at_eof(host.get(), 1000));
  EXPECT_TRUE(rx().empty());
  EXPECT_EQ(device_->counters().resets_received, 1u);
}

TEST_F(VirtioVsockTest, TransportResetEvent) {
  start();
  Link l = host_connect(40);
  UniqueFd listener = unix_listen(uds_ + "_41");
  driver_.send(guest(kOpRequest, 6000, 41));
  settle();
  ASSERT_EQ(rx().size(), 1u);
  UniqueFd guest_side(::accept(listener.get(), nullptr, nullptr));
  ASSERT_EQ(device_->connection_count(), 2u);

  // No event buffer yet: the event waits for one, the connections go at once.
  ASSERT_TRUE(device_->process_event(VirtioVsock::kTransportResetEvent).ok());
  EXPECT_EQ(device_->connection_count(), 0u);
  EXPECT_TRUE(at_eof(l.host.get(), 1000));
  EXPECT_TRUE(at_eof(guest_side.get(), 1000));
  EXPECT_EQ(driver_.events_used(), 0u);
  driver_.post_event_buffer();
  EXPECT_EQ(driver_.events_used(), 1u);
  EXPECT_EQ(driver_.event_id(), kEventTransportReset);
  EXPECT_TRUE(rx().empty()) << "no RSTs: the driver resets its sockets itself";

  driver_.post_event_buffer(1);
  ASSERT_TRUE(device_->send_transport_reset().ok());
  EXPECT_EQ(driver_.events_used(), 2u);
  EXPECT_EQ(device_->counters().transport_resets, 2u);
  // Still serving afterwards.
  Link again = host_connect(42);
  EXPECT_EQ(device_->connection_count(), 1u);
}

TEST_F(VirtioVsockTest, ConnectionLimit) {
  config_.max_connections = 3;
  start();
  std::vector<Link> links;
  for (uint32_t i = 0; i < 3; ++i) links.push_back(host_connect(100 + i));
  UniqueFd excess = unix_connect(uds_);
  settle();
  EXPECT_TRUE(at_eof(excess.get(), 1000)) << "over the limit: closed";
  UniqueFd listener = unix_listen(uds_ + "_500");
  driver_.send(guest(kOpRequest, 7000, 500));
  settle();
  auto packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpRst) << "guest connection over the limit";
  EXPECT_EQ(device_->counters().refused_connections, 2u);

  // One closes; there is room again.
  driver_.send(guest(kOpRst, 100, links[0].host_port));
  settle();
  EXPECT_TRUE(at_eof(links[0].host.get(), 1000));
  driver_.send(guest(kOpRequest, 7000, 500));
  settle();
  packets = rx();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].hdr.op, kOpResponse);
}

TEST_F(VirtioVsockTest, ManyConnectionsAtOnce) {
  start();
  driver_.post_rx(32);
  constexpr int kCount = 200;
  std::vector<UniqueFd> hosts;
  for (int i = 0; i < kCount; ++i) {
    hosts.push_back(unix_connect(uds_));
    write_all(hosts.back().get(), "CONNECT " + std::to_string(1000 + i) + "\n" +
                                      "from host " + std::to_string(i));
    if (i % 32 == 31) settle();  // accept them before the listen backlog fills up
  }
  // Answer REQUESTs as they come, a few rx buffers at a time.
  std::map<uint32_t, uint32_t> host_port_of;  // guest port -> host port
  std::map<uint32_t, std::string> received;
  for (int round = 0; round < 1000 && received.size() < kCount; ++round) {
    settle();
    for (const auto& p : rx()) {
      if (p.hdr.op == kOpRequest) {
        host_port_of[p.hdr.dst_port] = p.hdr.src_port;
        driver_.send(guest(kOpResponse, p.hdr.dst_port, p.hdr.src_port));
      } else if (p.hdr.op == kOpRw) {
        received[p.hdr.dst_port] += p.text();
      }
    }
  }
  ASSERT_EQ(host_port_of.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(device_->connection_count(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const uint32_t port = 1000 + i;
    EXPECT_EQ(received[port], "from host " + std::to_string(i));
    send_rw(port, host_port_of[port], "to host " + std::to_string(i));
  }
  settle();
  for (int i = 0; i < kCount; ++i) {
    const std::string ok = "OK " + std::to_string(host_port_of[1000 + i]) + "\n";
    EXPECT_EQ(read_available(hosts[i].get(), 1000), ok + "to host " + std::to_string(i));
  }
  EXPECT_EQ(device_->counters().host_connections, static_cast<uint64_t>(kCount));
}

TEST_F(VirtioVsockTest, ResetClosesEverything) {
  start();
  Link l = host_connect(20);
  UniqueFd pending = unix_connect(uds_);
  write_all(pending.get(), "CONN");
  settle();
  EXPECT_EQ(device_->connection_count(), 2u);
  device_->reset();
  EXPECT_EQ(device_->connection_count(), 0u);
  EXPECT_TRUE(at_eof(l.host.get(), 1000));
  EXPECT_TRUE(at_eof(pending.get(), 1000));
  EXPECT_EQ(registrar_.count(), 0u) << "nothing left watched";
  EXPECT_TRUE(std::filesystem::exists(uds_)) << "the listener stays for the next driver";
  UniqueFd later = unix_connect(uds_);  // queued until the next activation
  EXPECT_TRUE(later.valid());
}

TEST_F(VirtioVsockTest, DeviceStateKeepsTheCid) {
  create();
  const auto saved = device_->save_device_state();
  EXPECT_TRUE(device_->restore_device_state(saved).ok());

  VirtioVsockConfig other = config_;
  other.guest_cid = 77;
  other.uds_path = dir_ + "/other.sock";
  auto dev = VirtioVsock::create(other, registrar_);
  ASSERT_TRUE(dev.ok());
  ASSERT_TRUE((*dev)->restore_device_state(saved).ok());
  EXPECT_EQ((*dev)->guest_cid(), kGuestCid) << "the guest keeps the CID it read";
  uint64_t cid = 0;
  (*dev)->read_config(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&cid), 8));
  EXPECT_EQ(cid, kGuestCid);

  EXPECT_FALSE((*dev)->restore_device_state(std::vector<uint8_t>(3)).ok());
  auto bad = saved;
  bad[0] ^= 1;
  EXPECT_FALSE((*dev)->restore_device_state(bad).ok());
  bad = saved;
  bad[8] = 2;  // cid 2: the host's
  EXPECT_FALSE((*dev)->restore_device_state(bad).ok());
}

TEST_F(VirtioVsockTest, SnapshotRestoreThroughTheTransport) {
  create();
  auto irq = std::make_shared<virtio_testing::CountingIrqLine>();
  auto transport = std::make_unique<VirtioMmioTransport>(device_, mem_, irq);
  driver_.activate_mmio(*transport);
  driver_.post_rx(8);
  driver_.post_event_buffer();
  Link before = host_connect(10);
  const VirtioMmioTransport::State state = transport->save_state();
  // The old VMM goes away with its device (and the socket file).
  transport.reset();
  device_.reset();
  EXPECT_TRUE(at_eof(before.host.get(), 1000));

  // The VMM's sequence on restore: a new device, the transport state (which re-activates
  // it), then the transport-reset event raised through the transport.
  config_.guest_cid = 99;  // whatever the config says, the guest keeps its CID
  create();
  transport = std::make_unique<VirtioMmioTransport>(device_, mem_, irq);
  auto r = transport->restore_state(state);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(transport->device_active());
  EXPECT_EQ(device_->guest_cid(), kGuestCid);
  driver_.notify_through(*transport);
  transport->process_device_event(VirtioVsock::kTransportResetEvent);
  EXPECT_EQ(driver_.events_used(), 1u);
  EXPECT_EQ(driver_.event_id(), kEventTransportReset);
  EXPECT_NE(transport->interrupt_status() & 1u, 0u);

  config_.guest_cid = kGuestCid;  // what host_connect expects in headers
  Link after = host_connect(11);
  write_all(after.host.get(), "after restore");
  settle();
  EXPECT_EQ(guest_data(rx(), 11), "after restore");
}

}  // namespace
}  // namespace ember
