// libFuzzer target: arbitrary bytes as the frames a guest sends to the MMDS network stack
// (mmds/net/). Each frame goes through wants() and take(), then everything the stack has for
// the guest is drained through has_frame()/next_frame(), with a fake clock moved by the input
// so retransmission and eviction run too. Checked on every step: has_frame() agrees with
// next_frame(), no frame exceeds kMaxFrameBytes, every TCP frame written parses with correct
// checksums, and the connection table and RST queue stay within Firecracker's bounds.
//
// Input layout (records until the input ends):
//   u8  control   bit 0: checksum_partial; bit 1: fix the IPv4 and TCP checksums of the frame
//                 first (so mutations reach TCP); bits 2..7: clock advance, in 100 ms units
//   u16 length    (little endian) of the frame that follows; cut short at the input's end
//   ... frame     from the Ethernet header on
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "devices/rate_limiter/clock.h"
#include "mmds/http_responder.h"
#include "mmds/net/frames.h"
#include "mmds/net/network_stack.h"

namespace {

using namespace ember::mmds_net;

class FuzzClock final : public ember::MonotonicClock {
 public:
  uint64_t now_ns() const override { return now; }
  uint64_t now = 1'000'000'000;
};

// Answers every request that ends in an empty line with a response whose size the request
// picks (the first digit after "GET /"), closing when it asks; a full buffer gets an error.
class FuzzResponder final : public ember::HttpResponder {
 public:
  ember::HttpExchange respond(std::string_view bytes, bool full) override {
    ember::HttpExchange ex;
    const size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos && !full) return ex;
    ex.status = ember::HttpExchange::Status::kAnswered;
    ex.consumed = end == std::string_view::npos ? bytes.size() : end + 4;
    size_t size = 10;
    if (bytes.size() > 5 && bytes[5] >= '0' && bytes[5] <= '9')
      size = static_cast<size_t>(bytes[5] - '0') * 1000;
    ex.response.assign(size, 'r');
    ex.close = bytes.find("close") != std::string_view::npos;
    return ex;
  }
};

void fix_checksums(std::vector<uint8_t>& f) {
  if (f.size() < kEthernetHeaderBytes + kIpv4HeaderBytes) return;
  uint8_t* ip = f.data() + kEthernetHeaderBytes;
  const size_t available = f.size() - kEthernetHeaderBytes;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if (ihl < kIpv4HeaderBytes || ihl > available) return;
  ip[10] = ip[11] = 0;
  store_be16(ip + 10, checksum_finish(checksum_add(0, {ip, ihl})));
  const size_t total = load_be16(ip + 2);
  if (total < ihl + kTcpHeaderBytes || total > available) return;
  uint8_t* tcp = ip + ihl;
  const size_t tcp_len = total - ihl;
  tcp[16] = tcp[17] = 0;
  ember::Ipv4Address src, dst;
  std::copy_n(ip + 12, 4, src.begin());
  std::copy_n(ip + 16, 4, dst.begin());
  store_be16(tcp + 16, checksum_finish(checksum_add(tcp_pseudo_header_sum(src, dst, tcp_len),
                                                    {tcp, tcp_len})));
}

void drain(ember::MmdsNetworkStack& stack) {
  std::vector<uint8_t> buf(ember::FrameDetour::kMaxFrameBytes);
  for (int i = 0; i < 2000; ++i) {
    const bool has = stack.has_frame();
    const size_t len = stack.next_frame(buf);
    if (has != (len != 0)) abort();
    if (len == 0) return;
    if (len > ember::FrameDetour::kMaxFrameBytes) abort();
    auto eth = parse_ethernet(std::span(buf).first(len));
    if (!eth) abort();
    if (eth->ethertype == kEthertypeIpv4) {
      Ipv4Packet ip;
      if (parse_ipv4_packet(std::span(buf).subspan(kEthernetHeaderBytes, len - 14), ip) !=
          Ipv4Error::kNone)
        abort();
      if (!parse_tcp(ip.payload, ip.src, ip.dst, true)) abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzClock clock;
  FuzzResponder responder;
  ember::MmdsCounterSet counters;
  ember::MmdsNetworkStack stack({169, 254, 169, 254}, responder, counters, clock);
  size_t at = 0;
  while (at + 3 <= size) {
    const uint8_t control = data[at];
    const size_t length = data[at + 1] | size_t{data[at + 2]} << 8;
    at += 3;
    const size_t n = std::min(length, size - at);
    std::vector<uint8_t> frame(data + at, data + at + n);
    at += n;
    clock.now += static_cast<uint64_t>(control >> 2) * 100'000'000;
    if (control & 2) fix_checksums(frame);
    const auto head = std::span<const uint8_t>(frame).first(
        std::min(frame.size(), ember::FrameDetour::kPeekBytes));
    if (stack.wants(head)) stack.take(frame, (control & 1) != 0);
    drain(stack);
    if (stack.tcp().connection_count() > kMaxConnections) abort();
    if (stack.tcp().pending_resets() > kMaxPendingResets) abort();
  }
  // Let every timer run out.
  for (int i = 0; i < 40; ++i) {
    clock.now += 2'000'000'000;
    drain(stack);
  }
  return 0;
}
