#include "mmds/net/frames.h"

#include <algorithm>
#include <cstring>

namespace ember::mmds_net {

uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> bytes) {
  // 64-bit accumulator: no carry is lost however long the input (frames are < 64 KiB anyway).
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) acc += load_be16(&bytes[i]);
  if (i < bytes.size()) acc += uint32_t{bytes[i]} << 8;
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t checksum_finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t tcp_pseudo_header_sum(const Ipv4Address& src, const Ipv4Address& dst,
                               size_t tcp_length) {
  uint32_t sum = checksum_add(0, src);
  sum = checksum_add(sum, dst);
  return sum + kProtocolTcp + static_cast<uint32_t>(tcp_length);
}

std::optional<EthernetHeader> parse_ethernet(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeaderBytes) return std::nullopt;
  EthernetHeader h;
  std::copy_n(frame.begin(), 6, h.dst.begin());
  std::copy_n(frame.begin() + 6, 6, h.src.begin());
  h.ethertype = load_be16(&frame[12]);
  return h;
}

std::optional<ArpPacket> parse_arp(std::span<const uint8_t> body) {
  if (body.size() < kArpBytes) return std::nullopt;
  if (load_be16(&body[0]) != 1 || load_be16(&body[2]) != kEthertypeIpv4 || body[4] != 6 ||
      body[5] != 4)
    return std::nullopt;
  ArpPacket a;
  a.operation = load_be16(&body[6]);
  std::copy_n(body.begin() + 8, 6, a.sender_mac.begin());
  std::copy_n(body.begin() + 14, 4, a.sender_ip.begin());
  std::copy_n(body.begin() + 18, 6, a.target_mac.begin());
  std::copy_n(body.begin() + 24, 4, a.target_ip.begin());
  return a;
}

Ipv4Error parse_ipv4_packet(std::span<const uint8_t> packet, Ipv4Packet& out) {
  if (packet.size() < kIpv4HeaderBytes) return Ipv4Error::kTruncated;
  if ((packet[0] >> 4) != 4) return Ipv4Error::kBadHeader;
  const size_t header_bytes = size_t{packet[0] & 0x0fu} * 4;
  if (header_bytes < kIpv4HeaderBytes) return Ipv4Error::kBadHeader;
  const size_t total = load_be16(&packet[2]);
  if (total < header_bytes) return Ipv4Error::kBadHeader;
  if (header_bytes > packet.size() || total > packet.size()) return Ipv4Error::kTruncated;
  if (checksum_finish(checksum_add(0, packet.first(header_bytes))) != 0)
    return Ipv4Error::kBadChecksum;
  const uint16_t flags_offset = load_be16(&packet[6]);
  if ((flags_offset & 0x2000) != 0 || (flags_offset & 0x1fff) != 0) return Ipv4Error::kFragment;
  out.protocol = packet[9];
  std::copy_n(packet.begin() + 12, 4, out.src.begin());
  std::copy_n(packet.begin() + 16, 4, out.dst.begin());
  // Bytes past the total length are Ethernet padding (short frames are padded to 60 bytes).
  out.payload = packet.subspan(header_bytes, total - header_bytes);
  return Ipv4Error::kNone;
}

std::optional<TcpSegment> parse_tcp(std::span<const uint8_t> segment, const Ipv4Address& src,
                                    const Ipv4Address& dst, bool check_checksum) {
  if (segment.size() < kTcpHeaderBytes) return std::nullopt;
  const size_t header_bytes = static_cast<size_t>(segment[12] >> 4) * 4;
  if (header_bytes < kTcpHeaderBytes || header_bytes > segment.size()) return std::nullopt;
  if (check_checksum &&
      checksum_finish(checksum_add(tcp_pseudo_header_sum(src, dst, segment.size()), segment)) != 0)
    return std::nullopt;
  TcpSegment s;
  s.src_port = load_be16(&segment[0]);
  s.dst_port = load_be16(&segment[2]);
  s.seq = load_be32(&segment[4]);
  s.ack = load_be32(&segment[8]);
  s.flags = segment[13] & 0x3f;
  s.window = load_be16(&segment[14]);
  // Options (RFC 9293 §3.2): kind 0 ends the list, kind 1 is one byte, every other kind has
  // a length byte that counts itself and the kind; a length that runs past the header, or is
  // under 2, makes the segment malformed.
  size_t i = kTcpHeaderBytes;
  while (i < header_bytes) {
    const uint8_t kind = segment[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= header_bytes) return std::nullopt;
    const size_t len = segment[i + 1];
    if (len < 2 || i + len > header_bytes) return std::nullopt;
    if (kind == 2) {
      if (len != 4) return std::nullopt;
      s.mss = load_be16(&segment[i + 2]);
    }
    i += len;
  }
  s.payload = segment.subspan(header_bytes);
  return s;
}

namespace {

void write_ethernet(uint8_t* p, const MacAddress& dst, const MacAddress& src, uint16_t type) {
  std::memcpy(p, dst.data(), 6);
  std::memcpy(p + 6, src.data(), 6);
  store_be16(p + 12, type);
}

}  // namespace

size_t write_arp_reply(std::span<uint8_t> buf, const MacAddress& our_mac,
                       const Ipv4Address& our_ip, const MacAddress& their_mac,
                       const Ipv4Address& their_ip) {
  constexpr size_t kLen = kEthernetHeaderBytes + kArpBytes;
  if (buf.size() < kLen) return 0;
  uint8_t* p = buf.data();
  write_ethernet(p, their_mac, our_mac, kEthertypeArp);
  uint8_t* a = p + kEthernetHeaderBytes;
  store_be16(a, 1);
  store_be16(a + 2, kEthertypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, kArpReply);
  std::memcpy(a + 8, our_mac.data(), 6);
  std::memcpy(a + 14, our_ip.data(), 4);
  std::memcpy(a + 18, their_mac.data(), 6);
  std::memcpy(a + 24, their_ip.data(), 4);
  return kLen;
}

size_t write_tcp_frame(std::span<uint8_t> buf, const FrameAddresses& addresses,
                       const TcpSegmentOut& segment) {
  const size_t tcp_header = kTcpHeaderBytes + (segment.mss ? 4 : 0);
  const size_t tcp_len = tcp_header + segment.payload.size();
  const size_t ip_len = kIpv4HeaderBytes + tcp_len;
  const size_t frame_len = kEthernetHeaderBytes + ip_len;
  if (ip_len > 0xffff || buf.size() < frame_len) return 0;
  uint8_t* p = buf.data();
  write_ethernet(p, addresses.dst_mac, addresses.src_mac, kEthertypeIpv4);

  uint8_t* ip = p + kEthernetHeaderBytes;
  std::memset(ip, 0, kIpv4HeaderBytes);
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(ip_len));
  store_be16(ip + 6, 0x4000);  // DF: the stack keeps segments within the MSS
  ip[8] = 64;
  ip[9] = kProtocolTcp;
  std::memcpy(ip + 12, addresses.src_ip.data(), 4);
  std::memcpy(ip + 16, addresses.dst_ip.data(), 4);
  store_be16(ip + 10, checksum_finish(checksum_add(0, {ip, kIpv4HeaderBytes})));

  uint8_t* tcp = ip + kIpv4HeaderBytes;
  std::memset(tcp, 0, tcp_header);
  store_be16(tcp, segment.src_port);
  store_be16(tcp + 2, segment.dst_port);
  store_be32(tcp + 4, segment.seq);
  store_be32(tcp + 8, segment.ack);
  tcp[12] = static_cast<uint8_t>((tcp_header / 4) << 4);
  tcp[13] = segment.flags;
  store_be16(tcp + 14, segment.window);
  if (segment.mss) {
    tcp[20] = 2;
    tcp[21] = 4;
    store_be16(tcp + 22, *segment.mss);
  }
  if (!segment.payload.empty())
    std::memcpy(tcp + tcp_header, segment.payload.data(), segment.payload.size());
  const uint32_t sum = checksum_add(tcp_pseudo_header_sum(addresses.src_ip, addresses.dst_ip,
                                                          tcp_len),
                                    {tcp, tcp_len});
  store_be16(tcp + 16, checksum_finish(sum));
  return frame_len;
}

}  // namespace ember::mmds_net
