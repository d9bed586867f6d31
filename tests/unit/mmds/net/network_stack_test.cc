#include "mmds/net/network_stack.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/mmds/net/mmds_net_test_util.h"

namespace ember::mmds_net::testing {
namespace {

std::vector<uint8_t> arp_request(const Ipv4Address& target, uint16_t op = kArpRequest) {
  std::vector<uint8_t> f(60, 0);  // padded to Ethernet's minimum, as on a wire
  std::fill_n(f.begin(), 6, 0xff);
  std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 6);
  store_be16(&f[12], kEthertypeArp);
  uint8_t* a = &f[14];
  store_be16(a, 1);
  store_be16(a + 2, kEthertypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  std::copy(kGuestMac.begin(), kGuestMac.end(), a + 8);
  std::copy(kGuestIp.begin(), kGuestIp.end(), a + 14);
  std::copy(target.begin(), target.end(), a + 24);
  return f;
}

TEST(MmdsNetworkStackTest, AnswersArpForItsAddressOnly) {
  Harness h;
  EXPECT_FALSE(h.stack.wants(arp_request({169, 254, 169, 1})));
  const auto req = arp_request(kMmdsIp);
  ASSERT_TRUE(h.stack.wants(std::span(req).first(FrameDetour::kPeekBytes)));
  h.stack.take(req, false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted), 1u);
  auto reply = h.next_raw();
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->size(), 42u);
  auto eth = parse_ethernet(*reply);
  EXPECT_EQ(eth->dst, kGuestMac);
  EXPECT_EQ(eth->src, kMmdsMac);
  EXPECT_EQ(eth->ethertype, kEthertypeArp);
  auto arp = parse_arp(std::span(*reply).subspan(14));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->operation, kArpReply);
  EXPECT_EQ(arp->sender_mac, kMmdsMac);
  EXPECT_EQ(arp->sender_ip, kMmdsIp);
  EXPECT_EQ(arp->target_mac, kGuestMac);
  EXPECT_EQ(arp->target_ip, kGuestIp);
  EXPECT_FALSE(h.next_raw());
  EXPECT_EQ(h.count(&MmdsCounters::tx_count), 1u);
  EXPECT_EQ(h.count(&MmdsCounters::tx_bytes), 42u);
  // An ARP reply (not a request) to our address is taken but refused.
  h.stack.take(arp_request(kMmdsIp, kArpReply), false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted_err), 1u);
  EXPECT_FALSE(h.next_raw());
}

TEST(MmdsNetworkStackTest, WantsOnlyFramesForItsAddress) {
  Harness h;
  EXPECT_TRUE(h.stack.wants(guest_frame({})));
  EXPECT_FALSE(h.stack.wants(guest_frame({}, {169, 254, 169, 253})));
  auto f = guest_frame({});
  store_be16(&f[12], 0x86dd);  // IPv6
  EXPECT_FALSE(h.stack.wants(f));
  for (size_t n = 0; n < 34; ++n) EXPECT_FALSE(h.stack.wants(std::span(f).first(n))) << n;
}

TEST(MmdsNetworkStackTest, HandshakeRequestResponseAndClose) {
  Harness h;
  Client c{h};
  c.mss = 1000;
  auto synack = c.connect();
  EXPECT_EQ(synack.eth.dst, kGuestMac);
  EXPECT_EQ(synack.eth.src, kMmdsMac);
  EXPECT_EQ(synack.ip.src, kMmdsIp);
  EXPECT_EQ(synack.ip.dst, kGuestIp);
  EXPECT_EQ(synack.tcp.src_port, 80);
  EXPECT_EQ(synack.tcp.dst_port, 40000);
  EXPECT_EQ(synack.tcp.mss, 1460);
  EXPECT_EQ(synack.tcp.window, kReceiveBufferBytes);
  EXPECT_EQ(h.count(&MmdsCounters::connections_created), 1u);
  c.send_data("GET /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_all(), "HTTP/1.1 200 OK\r\n\r\nBODY");
  // Keep-alive: a second request on the same connection.
  c.send_data("GET /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_all(), "HTTP/1.1 200 OK\r\n\r\nBODY");
  ASSERT_EQ(h.responder.calls.size(), 2u);
  // The guest closes: its FIN is ACKed and answered with ours.
  c.send_ack(kTcpFin);
  bool fin = false;
  EXPECT_EQ(c.read_all(&fin), "");
  EXPECT_TRUE(fin);
  EXPECT_FALSE(h.stack.has_frame());
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
  EXPECT_EQ(h.count(&MmdsCounters::connections_destroyed), 1u);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted_err), 0u);
  EXPECT_EQ(h.count(&MmdsCounters::tx_count), h.count(&MmdsCounters::tx_frames));
}

TEST(MmdsNetworkStackTest, ConnectionCloseFinsAfterTheResponse) {
  Harness h;
  Client c{h};
  c.connect();
  c.send_data("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n");
  bool fin = false;
  EXPECT_EQ(c.read_all(&fin), "HTTP/1.1 200 OK\r\n\r\nBODY");
  EXPECT_TRUE(fin);
  EXPECT_EQ(h.stack.tcp().connection_count(), 1u);  // until the guest's FIN
  c.send_ack(kTcpFin);
  auto last = h.next();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->tcp.ack, c.seq);
  EXPECT_FALSE(h.stack.has_frame());
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
}

TEST(MmdsNetworkStackTest, LargeResponseIsSplitByMssAndWindow) {
  Harness h;
  Client c{h};
  c.mss = 700;
  c.window = 2000;
  c.connect();
  c.send_data("GET /big HTTP/1.1\r\n\r\n");
  std::string got;
  // Without ACKs, the stack sends no more than the window, in segments of at most the MSS.
  size_t in_flight = 0;
  while (auto r = h.next()) {
    EXPECT_LE(r->payload.size(), 700u);
    in_flight += r->payload.size();
    got += r->payload;
  }
  EXPECT_EQ(in_flight, 2000u);
  c.ack += static_cast<uint32_t>(in_flight);
  c.send_ack();
  got += c.read_all();
  EXPECT_EQ(got, "HTTP/1.1 200 OK\r\n\r\n" + h.responder.big_body());
}

TEST(MmdsNetworkStackTest, NoMssOptionMeans536) {
  Harness h;
  h.send({40000, 80, 5, 0, kTcpSyn, 65535, std::nullopt, ""});
  auto synack = h.next();
  ASSERT_TRUE(synack);
  h.send({40000, 80, 6, synack->tcp.seq + 1, kTcpAck, 65535, std::nullopt,
          "GET /big HTTP/1.1\r\n\r\n"});
  auto first = h.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload.size(), 536u);
}

TEST(MmdsNetworkStackTest, ZeroWindowThenWindowUpdate) {
  Harness h;
  Client c{h};
  c.connect();
  c.window = 0;
  c.send_data("GET /x HTTP/1.1\r\n\r\n");
  // Only the ACK of the request: no data into a shut window.
  auto ack = h.next();
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->payload.empty());
  EXPECT_FALSE(h.next());
  // A guest that never reads: the connection stays, asking now and then (a probe that
  // carries no data).
  for (int i = 0; i < 30; ++i) {
    h.clock.now += 1'300'000'000;
    while (auto r = h.next()) EXPECT_TRUE(r->payload.empty());
  }
  EXPECT_EQ(h.stack.tcp().connection_count(), 1u);
  c.window = 65535;
  c.send_ack();
  EXPECT_EQ(c.read_all(), "HTTP/1.1 200 OK\r\n\r\nBODY");
}

TEST(MmdsNetworkStackTest, LostSegmentIsRetransmittedAfterTheTimeout) {
  Harness h;
  Client c{h};
  c.connect();
  c.send_data("GET /x HTTP/1.1\r\n\r\n");
  auto lost = h.next();
  ASSERT_TRUE(lost);
  ASSERT_FALSE(lost->payload.empty());
  EXPECT_FALSE(h.next());
  h.clock.now += 1'100'000'000;
  EXPECT_FALSE(h.stack.has_frame());
  h.clock.now += 200'000'000;
  auto again = h.next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tcp.seq, lost->tcp.seq);
  EXPECT_EQ(again->payload, lost->payload);
}

TEST(MmdsNetworkStackTest, GivesUpWithARstAfterRetransmissions) {
  Harness h;
  Client c{h};
  c.connect();
  c.send_data("GET /x HTTP/1.1\r\n\r\n");
  bool reset = false;
  for (int i = 0; i < 40 && !reset; ++i) {
    h.clock.now += 1'300'000'000;
    while (auto r = h.next())
      if (r->tcp.flags & kTcpRst) reset = true;
  }
  EXPECT_TRUE(reset);
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
  EXPECT_EQ(h.count(&MmdsCounters::connections_destroyed), 1u);
}

TEST(MmdsNetworkStackTest, ThreeDuplicateAcksRetransmit) {
  Harness h;
  Client c{h};
  c.mss = 100;
  c.window = 600;  // six segments fill it
  c.connect();
  c.send_data("GET /big HTTP/1.1\r\n\r\n");
  auto first = h.next();  // "lost"
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.next());
  EXPECT_FALSE(h.stack.has_frame());
  for (int i = 0; i < 2; ++i) c.send_ack();
  EXPECT_FALSE(h.stack.has_frame());
  c.send_ack();
  auto again = h.next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tcp.seq, first->tcp.seq);
  EXPECT_EQ(again->payload, first->payload);
}

TEST(MmdsNetworkStackTest, ResetFromTheGuestDropsTheConnection) {
  Harness h;
  Client c{h};
  c.connect();
  // A RST out of the window is ignored.
  h.send({c.port, 80, c.seq + 100000, 0, kTcpRst, 0, std::nullopt, ""});
  EXPECT_EQ(h.stack.tcp().connection_count(), 1u);
  h.send({c.port, 80, c.seq, 0, kTcpRst, 0, std::nullopt, ""});
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
  EXPECT_FALSE(h.stack.has_frame());  // never a RST for a RST
}

TEST(MmdsNetworkStackTest, SegmentsWithoutAConnectionGetARst) {
  Harness h;
  h.send({40000, 80, 77, 99, kTcpAck, 1000, std::nullopt, "x"});
  auto rst = h.next();
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->tcp.flags, kTcpRst);
  EXPECT_EQ(rst->tcp.seq, 99u);
  // A SYN to another port: RST+ACK acknowledging the SYN.
  h.send({40001, 81, 500, 0, kTcpSyn, 1000, std::nullopt, ""});
  rst = h.next();
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->tcp.flags, kTcpRst | kTcpAck);
  EXPECT_EQ(rst->tcp.ack, 501u);
  EXPECT_EQ(rst->tcp.src_port, 81);
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
}

TEST(MmdsNetworkStackTest, SynFloodKeepsTheBounds) {
  Harness h;
  for (uint16_t port = 1000; port < 1000 + 300; ++port)
    h.send({port, 80, 1, 0, kTcpSyn, 1000, std::nullopt, ""});
  EXPECT_EQ(h.stack.tcp().connection_count(), kMaxConnections);
  EXPECT_EQ(h.stack.tcp().pending_resets(), kMaxPendingResets);
  EXPECT_EQ(h.count(&MmdsCounters::connections_created), kMaxConnections);
  auto frames = h.drain();
  EXPECT_EQ(frames.size(), kMaxPendingResets + kMaxConnections);
  // Once the connections have been idle past the eviction threshold, a new SYN replaces one
  // (the one idle longest: the first).
  h.clock.now += 41'000'000'000;
  for (auto& f : h.drain()) (void)f;  // retransmitted SYN-ACKs
  h.send({5000, 80, 1, 0, kTcpSyn, 1000, std::nullopt, ""});
  EXPECT_EQ(h.stack.tcp().connection_count(), kMaxConnections);
  EXPECT_EQ(h.count(&MmdsCounters::connections_created), kMaxConnections + 1);
  EXPECT_GE(h.count(&MmdsCounters::connections_destroyed), 1u);
  auto after = h.drain();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.front().tcp.flags & kTcpRst, kTcpRst);
  EXPECT_EQ(after.front().tcp.dst_port, 1000);
}

TEST(MmdsNetworkStackTest, ManyConnectionsServedInTurn) {
  Harness h;
  std::vector<Client> clients;
  for (uint16_t i = 0; i < kMaxConnections; ++i) {
    clients.push_back(Client{h, static_cast<uint16_t>(2000 + i)});
    clients.back().connect();
  }
  for (auto& c : clients) c.send_data("GET /x HTTP/1.1\r\n\r\n");
  // Round robin: the first 30 data segments go to 30 different ports.
  std::set<uint16_t> ports;
  for (size_t i = 0; i < kMaxConnections; ++i) {
    auto r = h.next();
    ASSERT_TRUE(r);
    ports.insert(r->tcp.dst_port);
  }
  EXPECT_EQ(ports.size(), kMaxConnections);
}

TEST(MmdsNetworkStackTest, MalformedFramesAreCountedAndDropped) {
  Harness h;
  const auto good = guest_frame({40000, 80, 1, 0, kTcpSyn, 1000, 1460, ""});
  // Every truncation.
  for (size_t n = 0; n < good.size(); ++n) h.stack.take(std::span(good).first(n), false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_bad_eth), 14u);
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
  EXPECT_FALSE(h.stack.has_frame());
  // Bad IPv4 header checksum, bad TCP checksum.
  auto bad_ip = good;
  bad_ip[14 + 8] ^= 1;
  h.stack.take(bad_ip, false);
  auto bad_tcp = good;
  bad_tcp.back() ^= 1;
  const uint64_t err_before = h.count(&MmdsCounters::rx_accepted_err);
  h.stack.take(bad_tcp, false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted_err), err_before + 1);
  EXPECT_EQ(h.stack.tcp().connection_count(), 0u);
  // ... but with checksum_partial the TCP checksum is the device's to finish: accepted.
  h.stack.take(bad_tcp, true);
  EXPECT_EQ(h.stack.tcp().connection_count(), 1u);
  // Not TCP: counted unusual.
  auto udp = good;
  udp[14 + 9] = 17;
  udp[14 + 10] = udp[14 + 11] = 0;
  store_be16(&udp[14 + 10], checksum_finish(checksum_add(0, std::span(udp).subspan(14, 20))));
  h.stack.take(udp, false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted_unusual), 1u);
  // A fragment.
  auto frag = good;
  frag[14 + 6] = 0x20;
  frag[14 + 10] = frag[14 + 11] = 0;
  store_be16(&frag[14 + 10], checksum_finish(checksum_add(0, std::span(frag).subspan(14, 20))));
  const uint64_t before = h.count(&MmdsCounters::rx_accepted_err);
  h.stack.take(frag, false);
  EXPECT_EQ(h.count(&MmdsCounters::rx_accepted_err), before + 1);
}

TEST(MmdsNetworkStackTest, OutOfOrderAndBeyondWindowDataIsDroppedAndReAcked) {
  Harness h;
  Client c{h};
  c.connect();
  h.send({c.port, 80, c.seq + 5, c.ack, kTcpAck, 65535, std::nullopt, "later"});
  auto reack = h.next();
  ASSERT_TRUE(reack);
  EXPECT_EQ(reack->tcp.ack, c.seq);
  EXPECT_TRUE(h.responder.calls.empty());
  // More than the window: only the window's worth is taken (and handed over as full).
  c.send_data(std::string(kReceiveBufferBytes + 100, 'A'));
  ASSERT_FALSE(h.responder.calls.empty());
  EXPECT_TRUE(h.responder.calls.back().full);
  EXPECT_EQ(h.responder.calls.back().bytes.size(), kReceiveBufferBytes);
  bool fin = false;
  EXPECT_EQ(c.read_all(&fin), "HTTP/1.1 413 Too Large\r\n\r\n");
  EXPECT_TRUE(fin);
}

TEST(MmdsNetworkStackTest, RequestLargerThanTheBufferInPieces) {
  Harness h;
  Client c{h};
  c.connect();
  std::string big(kReceiveBufferBytes, 'B');
  for (size_t off = 0; off < big.size(); off += 500) {
    c.send_data(big.substr(off, 500));
    h.drain();
  }
  ASSERT_FALSE(h.responder.calls.empty());
  EXPECT_TRUE(h.responder.calls.back().full);
  // The advertised window shrank as the buffer filled.
  h.send({c.port, 80, c.seq, c.ack, kTcpAck, 65535, std::nullopt, "more"});
  auto r = h.next();
  ASSERT_TRUE(r);
}

TEST(MmdsNetworkStackTest, HasFrameAgreesWithNextFrameThroughATimeline) {
  Harness h;
  Client c{h};
  c.connect();
  c.send_data("GET /big HTTP/1.1\r\n\r\n");
  for (int step = 0; step < 50; ++step) {
    h.clock.now += 300'000'000;
    const bool has = h.stack.has_frame();
    std::vector<uint8_t> buf(FrameDetour::kMaxFrameBytes);
    EXPECT_EQ(has, h.stack.next_frame(buf) != 0) << step;
  }
}

}  // namespace
}  // namespace ember::mmds_net::testing
