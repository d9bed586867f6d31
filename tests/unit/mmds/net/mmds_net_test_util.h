// Test helpers for the MMDS network stack: a fake clock and responder, and a guest that builds
// frames to the stack and reads the ones it writes back.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devices/rate_limiter/clock.h"
#include "mmds/http_responder.h"
#include "mmds/net/frames.h"
#include "mmds/net/network_stack.h"

namespace ember::mmds_net::testing {

class FakeClock final : public MonotonicClock {
 public:
  uint64_t now_ns() const override { return now; }
  uint64_t now = 1'000'000'000;
};

// Answers each request ending in an empty line: "GET /x" with "BODY", "GET /big" with
// big_size bytes, anything else 400; "Connection: close" closes. Records each call.
class FakeResponder final : public HttpResponder {
 public:
  HttpExchange respond(std::string_view bytes, bool full) override {
    calls.push_back({std::string(bytes), full});
    HttpExchange ex;
    const size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (full) {
        ex.status = HttpExchange::Status::kAnswered;
        ex.consumed = bytes.size();
        ex.response = "HTTP/1.1 413 Too Large\r\n\r\n";
        ex.close = true;
      }
      return ex;
    }
    const std::string_view request = bytes.substr(0, end + 4);
    ex.status = HttpExchange::Status::kAnswered;
    ex.consumed = request.size();
    if (request.starts_with("GET /x "))
      ex.response = "HTTP/1.1 200 OK\r\n\r\nBODY";
    else if (request.starts_with("GET /big "))
      ex.response = "HTTP/1.1 200 OK\r\n\r\n" + big_body();
    else
      ex.response = "HTTP/1.1 400 Bad Request\r\n\r\n";
    ex.close = request.find("Connection: close") != std::string_view::npos;
    return ex;
  }
  std::string big_body() const {
    std::string s;
    for (size_t i = 0; i < big_size; ++i) s.push_back(static_cast<char>('a' + i % 26));
    return s;
  }
  struct Call {
    std::string bytes;
    bool full;
  };
  std::vector<Call> calls;
  size_t big_size = 5000;
};

inline constexpr MacAddress kGuestMac = {0x02, 0, 0, 0, 0, 0x01};
inline constexpr Ipv4Address kGuestIp = {192, 168, 0, 2};
inline constexpr Ipv4Address kMmdsIp = {169, 254, 169, 254};

// A segment the stack wrote, parsed (and checked: Ethernet, IPv4 and TCP checksums).
struct Received {
  EthernetHeader eth;
  Ipv4Packet ip;
  TcpSegment tcp;
  std::string payload;
  std::vector<uint8_t> frame;
};

struct GuestSegment {
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 65535;
  std::optional<uint16_t> mss;
  std::string payload;
};

// Builds the frame the guest would send (correct checksums).
inline std::vector<uint8_t> guest_frame(const GuestSegment& g,
                                        const Ipv4Address& dst = kMmdsIp) {
  std::vector<uint8_t> buf(70000);
  TcpSegmentOut out{g.src_port, g.dst_port, g.seq, g.ack, g.flags, g.window, g.mss, g.payload};
  const size_t len = write_tcp_frame(buf, {kMmdsMac, kGuestMac, kGuestIp, dst}, out);
  buf.resize(len);
  return buf;
}

inline std::optional<Received> parse_frame(std::vector<uint8_t> frame) {
  Received r;
  r.frame = std::move(frame);
  std::span<const uint8_t> f(r.frame);
  auto eth = parse_ethernet(f);
  if (!eth || eth->ethertype != kEthertypeIpv4) return std::nullopt;
  r.eth = *eth;
  if (parse_ipv4_packet(f.subspan(kEthernetHeaderBytes), r.ip) != Ipv4Error::kNone)
    return std::nullopt;
  auto tcp = parse_tcp(r.ip.payload, r.ip.src, r.ip.dst, /*check_checksum=*/true);
  if (!tcp) return std::nullopt;
  r.tcp = *tcp;
  r.payload.assign(tcp->payload.begin(), tcp->payload.end());
  return r;
}

// The stack, with its collaborators, and a guest's view of one connection.
struct Harness {
  FakeClock clock;
  FakeResponder responder;
  MmdsCounterSet counters;
  MmdsNetworkStack stack{kMmdsIp, responder, counters, clock};

  void send(const GuestSegment& g, bool partial = false) {
    const auto frame = guest_frame(g);
    ASSERT_TRUE(stack.wants(std::span(frame).first(std::min(frame.size(), FrameDetour::kPeekBytes))));
    stack.take(frame, partial);
  }
  // The next frame, checking that has_frame() agreed.
  std::optional<std::vector<uint8_t>> next_raw() {
    const bool has = stack.has_frame();
    std::vector<uint8_t> buf(FrameDetour::kMaxFrameBytes);
    const size_t len = stack.next_frame(buf);
    EXPECT_EQ(has, len != 0) << "has_frame() disagrees with next_frame()";
    if (len == 0) return std::nullopt;
    EXPECT_LE(len, FrameDetour::kMaxFrameBytes);
    buf.resize(len);
    return buf;
  }
  std::optional<Received> next() {
    auto raw = next_raw();
    if (!raw) return std::nullopt;
    auto r = parse_frame(std::move(*raw));
    EXPECT_TRUE(r.has_value()) << "the stack wrote a frame that does not parse";
    return r;
  }
  std::vector<Received> drain() {
    std::vector<Received> out;
    while (auto r = next()) out.push_back(std::move(*r));
    return out;
  }
  uint64_t count(uint64_t MmdsCounters::*field) const { return counters.get(field); }
};

// A connected client: SYN, SYN-ACK, ACK done.
struct Client {
  Harness& h;
  uint16_t port = 40000;
  uint32_t seq = 1000;  // next sequence number to send
  uint32_t ack = 0;     // next byte expected from the stack
  uint16_t window = 65535;
  uint16_t mss = 1460;

  Received connect() {
    h.send({port, 80, seq, 0, kTcpSyn, window, mss, ""});
    auto synack = h.next();
    EXPECT_TRUE(synack.has_value());
    if (!synack) return {};
    EXPECT_EQ(synack->tcp.flags, kTcpSyn | kTcpAck);
    EXPECT_EQ(synack->tcp.ack, seq + 1);
    ++seq;
    ack = synack->tcp.seq + 1;
    h.send({port, 80, seq, ack, kTcpAck, window, std::nullopt, ""});
    return *synack;
  }
  void send_data(const std::string& data, uint8_t extra_flags = 0) {
    h.send({port, 80, seq, ack, static_cast<uint8_t>(kTcpAck | kTcpPsh | extra_flags), window,
            std::nullopt, data});
    seq += static_cast<uint32_t>(data.size()) + ((extra_flags & kTcpFin) ? 1 : 0);
  }
  void send_ack(uint8_t extra_flags = 0) {
    h.send({port, 80, seq, ack, static_cast<uint8_t>(kTcpAck | extra_flags), window,
            std::nullopt, ""});
    if (extra_flags & kTcpFin) ++seq;
  }
  // Reads everything the stack sends, ACKing each data segment; returns the bytes in order.
  std::string read_all(bool* fin = nullptr) {
    std::string got;
    for (int rounds = 0; rounds < 1000; ++rounds) {
      auto r = h.next();
      if (!r) break;
      if (r->tcp.seq == ack && !r->payload.empty()) {
        got += r->payload;
        ack += static_cast<uint32_t>(r->payload.size());
      }
      if ((r->tcp.flags & kTcpFin) && r->tcp.seq + r->payload.size() == ack) {
        ++ack;
        if (fin) *fin = true;
      }
      if (!r->payload.empty() || (r->tcp.flags & kTcpFin)) send_ack();
    }
    return got;
  }
};

}  // namespace ember::mmds_net::testing
