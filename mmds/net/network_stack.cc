#include "mmds/net/network_stack.h"

#include <algorithm>

namespace ember {

using namespace mmds_net;

MmdsNetworkStack::MmdsNetworkStack(Ipv4Address address, HttpResponder& responder,
                                   MmdsCounterSet& counters, const MonotonicClock& clock,
                                   TcpLimits limits)
    : address_(address),
      responder_(responder),
      counters_(counters),
      clock_(clock),
      server_(counters, limits) {}

bool MmdsNetworkStack::wants(std::span<const uint8_t> head) const {
  const auto eth = parse_ethernet(head);
  if (!eth) return false;
  const auto body = head.subspan(kEthernetHeaderBytes);
  // Firecracker's speculative tests: the ARP target protocol address, or the IPv4
  // destination, read at their fixed offsets before anything else is checked.
  if (eth->ethertype == kEthertypeArp)
    return body.size() >= kArpBytes && std::equal(address_.begin(), address_.end(), &body[24]);
  if (eth->ethertype == kEthertypeIpv4)
    return body.size() >= kIpv4HeaderBytes &&
           std::equal(address_.begin(), address_.end(), &body[16]);
  return false;
}

void MmdsNetworkStack::take(std::span<const uint8_t> frame, bool checksum_partial) {
  const auto eth = parse_ethernet(frame);
  if (!eth) {
    counters_.add(&MmdsCounters::rx_bad_eth);
    return;
  }
  const auto body = frame.subspan(kEthernetHeaderBytes);
  if (eth->ethertype == kEthertypeArp) {
    take_arp(*eth, body);
  } else if (eth->ethertype == kEthertypeIpv4) {
    take_ipv4(*eth, body, checksum_partial);
  } else {
    counters_.add(&MmdsCounters::rx_accepted_err);
  }
}

void MmdsNetworkStack::take_arp(const EthernetHeader&, std::span<const uint8_t> body) {
  const auto arp = parse_arp(body);
  if (!arp || arp->operation != kArpRequest || arp->target_ip != address_) {
    counters_.add(&MmdsCounters::rx_accepted_err);
    return;
  }
  counters_.add(&MmdsCounters::rx_accepted);
  // RFC 826: the reply goes to the sender's hardware and protocol addresses.
  remote_mac_ = arp->sender_mac;
  arp_reply_ = ArpReply{arp->sender_mac, arp->sender_ip};
}

void MmdsNetworkStack::take_ipv4(const EthernetHeader& eth, std::span<const uint8_t> body,
                                 bool checksum_partial) {
  Ipv4Packet packet;
  if (parse_ipv4_packet(body, packet) != Ipv4Error::kNone || packet.dst != address_) {
    // Malformed, a fragment (not reassembled, as Firecracker), or not for us after all.
    counters_.add(&MmdsCounters::rx_accepted_err);
    return;
  }
  counters_.add(&MmdsCounters::rx_accepted);
  if (packet.protocol != kProtocolTcp) {
    counters_.add(&MmdsCounters::rx_accepted_unusual);
    return;
  }
  const auto segment = parse_tcp(packet.payload, packet.src, packet.dst, !checksum_partial);
  if (!segment) {
    counters_.add(&MmdsCounters::rx_accepted_err);
    return;
  }
  remote_mac_ = eth.src;
  server_.receive(packet.src, *segment, responder_, clock_.now_ns());
}

bool MmdsNetworkStack::has_frame() {
  if (arp_reply_) return true;
  server_.poll(clock_.now_ns());
  return server_.has_segment();
}

void MmdsNetworkStack::count_sent(size_t bytes) {
  counters_.add(&MmdsCounters::tx_count);
  counters_.add(&MmdsCounters::tx_frames);
  counters_.add(&MmdsCounters::tx_bytes, bytes);
}

size_t MmdsNetworkStack::next_frame(std::span<uint8_t> buf) {
  if (arp_reply_) {
    const size_t len = write_arp_reply(buf, kMmdsMac, address_, arp_reply_->mac, arp_reply_->ip);
    arp_reply_.reset();
    if (len == 0) {
      counters_.add(&MmdsCounters::tx_errors);
      return 0;
    }
    count_sent(len);
    return len;
  }
  const uint64_t now = clock_.now_ns();
  server_.poll(now);
  const auto out = server_.take_segment(now);
  if (!out) return 0;
  const FrameAddresses addresses{remote_mac_, kMmdsMac, address_, out->remote};
  const size_t len = write_tcp_frame(buf.first(std::min(buf.size(), kMaxFrameBytes)), addresses,
                                     out->segment);
  if (len == 0) {
    // The caller's buffer is under kMaxFrameBytes: the segment is lost, and retransmission
    // covers it as it would a frame lost on a wire.
    counters_.add(&MmdsCounters::tx_errors);
    return 0;
  }
  count_sent(len);
  return len;
}

}  // namespace ember
