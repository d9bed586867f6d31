// ember's own cost of one MMDS GET, measured in-process without a VM: the frames a guest's TCP
// would send (SYN, ACK, the request, ACKs, FIN) go through the MMDS network stack
// (mmds/net/network_stack.h) with the real HTTP service and data store (V2, a token), and
// every frame it writes back is read; one connection per GET, as busybox wget makes them.
// Beside it, in the same run, the same exchange through the host kernel's TCP on loopback: a
// client thread connects, sends the same request and reads to EOF from a server thread that
// answers with the same bytes the MMDS did. Both sides run on this host's CPU alone, so the
// figures are ember's userspace code against the kernel's, with no KVM and no guest: the part
// of a guest's metadata read that is ember's own (benchmarks/README.md, "MMDS benchmark").
//
//   build/bin/mmds_stack_bench [GETS]        (default 20000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/rate_limiter/clock.h"
#include "mmds/counters.h"
#include "mmds/data_store.h"
#include "mmds/http_service.h"
#include "mmds/net/frames.h"
#include "mmds/net/network_stack.h"

namespace {

using namespace ember;            // NOLINT(google-build-using-namespace)
using namespace ember::mmds_net;  // NOLINT(google-build-using-namespace)
using Clock = std::chrono::steady_clock;

constexpr MacAddress kGuestMac = {0x06, 0, 0xac, 0x10, 0, 2};
constexpr MacAddress kMmdsMac = {0x06, 0x01, 0x23, 0x45, 0x67, 0x01};
constexpr Ipv4Address kGuestIp = {172, 16, 0, 2};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mmds_stack_bench: %s\n", what);
  std::exit(1);
}

// The guest side of one connection, written against the frame codec (not the stack's code).
class Guest {
 public:
  Guest(MmdsNetworkStack& stack) : stack_(stack), out_(FrameDetour::kMaxFrameBytes) {}

  // One GET on a new connection; returns the response bytes and counts the frames both ways.
  std::string get(uint16_t port, const std::string& request) {
    port_ = port;
    seq_ = 1000u + port;
    send(kTcpSyn, "");
    const auto synack = receive();
    if (!synack || synack->flags != (kTcpSyn | kTcpAck)) die("no SYN-ACK");
    ++seq_;
    ack_ = synack->seq + 1;
    send(kTcpAck, "");
    send(kTcpAck | kTcpPsh, request);
    seq_ += static_cast<uint32_t>(request.size());
    std::string response;
    bool fin = false;
    // Read what the stack sends, ACKing it; close our side once the response is whole.
    for (int i = 0; i < 64 && !fin; ++i) {
      const auto r = receive();
      if (!r) break;
      if (r->seq == ack_ && !r->payload.empty()) {
        response.append(reinterpret_cast<const char*>(r->payload.data()), r->payload.size());
        ack_ += static_cast<uint32_t>(r->payload.size());
      }
      if (r->flags & kTcpFin) {
        ++ack_;
        fin = true;
      }
      if (!r->payload.empty() || fin) send(kTcpAck, "");
    }
    if (!fin) die("the MMDS did not close the connection");
    send(kTcpAck | kTcpFin, "");
    ++seq_;
    while (receive()) {
    }
    return response;
  }
  uint64_t frames = 0;

 private:
  void send(uint8_t flags, const std::string& payload) {
    std::vector<uint8_t> frame(FrameDetour::kMaxFrameBytes + 64);
    const TcpSegmentOut s{port_, 80, seq_, ack_, flags, 65535,
                          (flags & kTcpSyn) ? std::optional<uint16_t>(1460) : std::nullopt, payload};
    const size_t len = write_tcp_frame(frame, {kMmdsMac, kGuestMac, kGuestIp, kDefaultMmdsIpv4}, s);
    if (len == 0) die("frame too long");
    frame.resize(len);
    if (!stack_.wants(std::span<const uint8_t>(frame).first(FrameDetour::kPeekBytes))) die("not claimed");
    stack_.take(frame, false);
    ++frames;
  }
  std::optional<TcpSegment> receive() {
    const size_t len = stack_.next_frame(out_);
    if (len == 0) return std::nullopt;
    ++frames;
    Ipv4Packet ip;
    if (parse_ipv4_packet(std::span<const uint8_t>(out_).subspan(kEthernetHeaderBytes, len - kEthernetHeaderBytes),
                          ip) != Ipv4Error::kNone)
      die("bad IPv4 from the stack");
    return parse_tcp(ip.payload, ip.src, ip.dst, false);
  }
  MmdsNetworkStack& stack_;
  std::vector<uint8_t> out_;
  uint16_t port_ = 0;
  uint32_t seq_ = 0;
  uint32_t ack_ = 0;
};

double per_get_us(Clock::duration d, int gets) {
  return std::chrono::duration<double, std::micro>(d).count() / gets;
}

// The kernel's loopback TCP doing the same exchange: connect, send, read to EOF, close.
double kernel_loopback_us(int gets, const std::string& request, const std::string& response) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 64) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0)
    die("loopback listener");
  std::thread server([&] {
    std::vector<char> buf(4096);
    for (int i = 0; i < gets; ++i) {
      const int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) die("accept");
      size_t got = 0;
      while (got < request.size()) {
        const ssize_t n = ::read(c, buf.data(), buf.size());
        if (n <= 0) die("server read");
        got += static_cast<size_t>(n);
      }
      if (::write(c, response.data(), response.size()) != static_cast<ssize_t>(response.size())) die("server write");
      ::close(c);
    }
  });
  std::vector<char> buf(4096);
  const auto start = Clock::now();
  for (int i = 0; i < gets; ++i) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    if (::write(s, request.data(), request.size()) != static_cast<ssize_t>(request.size())) die("client write");
    size_t got = 0;
    for (ssize_t n; (n = ::read(s, buf.data(), buf.size())) > 0;) got += static_cast<size_t>(n);
    if (got != response.size()) die("client read");
    ::close(s);
  }
  const auto took = Clock::now() - start;
  server.join();
  ::close(listener);
  return per_get_us(took, gets);
}

}  // namespace

int main(int argc, char** argv) {
  const int gets = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20000;
  MmdsDataStore store;
  if (!store.put(nlohmann::json::parse(R"({"latest": {"meta-data": {"ami-id": "ami-e2e", "instance-id": "i-1"}}})")))
    die("put");
  store.configure(MmdsVersion::kV2, false);
  auto token = store.generate_token(21600);
  if (!token) die("token");
  MmdsCounterSet counters;
  MmdsHttpService http(store, counters);
  MmdsNetworkStack stack(kDefaultMmdsIpv4, http, counters, system_monotonic_clock());
  Guest guest(stack);
  const std::string request = "GET /latest/meta-data/ami-id HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: Wget\r\n"
                              "X-metadata-token: " + *token + "\r\nConnection: close\r\n\r\n";

  std::string response;
  for (int i = 0; i < 100; ++i) response = guest.get(static_cast<uint16_t>(20000 + i % 20000), request);  // warm up
  if (response.find("\r\n\r\nami-e2e") == std::string::npos) die("unexpected MMDS answer");
  guest.frames = 0;
  const auto start = Clock::now();
  for (int i = 0; i < gets; ++i) response = guest.get(static_cast<uint16_t>(20000 + i % 40000), request);
  const double mmds_us = per_get_us(Clock::now() - start, gets);
  const double frames = static_cast<double>(guest.frames) / gets;
  const double kernel_us = kernel_loopback_us(gets, request, response);

  std::printf("MMDS GET, one connection each, %d GETs (V2 token, %zu-byte answer)\n", gets, response.size());
  std::printf("%-44s %12s %12s\n", "", "us per GET", "GETs/s");
  std::printf("%-44s %12.2f %12.0f\n", "ember MMDS stack + HTTP (in process)", mmds_us, 1e6 / mmds_us);
  std::printf("%-44s %12.2f %12.0f\n", "host kernel TCP on loopback, same bytes", kernel_us, 1e6 / kernel_us);
  std::printf("ember/kernel: %.2f   frames per ember GET: %.1f\n", mmds_us / kernel_us, frames);
  return 0;
}
