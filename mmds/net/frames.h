// The wire formats the MMDS network stack reads and writes: Ethernet II, ARP for IPv4 over
// Ethernet (RFC 826), IPv4 (RFC 791) and TCP (RFC 9293 §3.1), and the Internet checksum
// (RFC 1071). Parsing never trusts a length field: every offset is checked against the bytes
// actually there, and a header that does not fit is refused, never read past.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "mmds/ipv4_address.h"

namespace ember::mmds_net {

using MacAddress = std::array<uint8_t, 6>;

inline constexpr size_t kEthernetHeaderBytes = 14;
inline constexpr size_t kArpBytes = 28;  // the Ethernet/IPv4 ARP body
inline constexpr size_t kIpv4HeaderBytes = 20;  // without options
inline constexpr size_t kTcpHeaderBytes = 20;   // without options
inline constexpr uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr uint16_t kEthertypeArp = 0x0806;
inline constexpr uint8_t kProtocolTcp = 6;

[[nodiscard]] inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
[[nodiscard]] inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// RFC 1071: the 16-bit one's complement sum of `bytes` (an odd last byte padded with zero),
// added to `sum` (a previous partial sum), not yet folded or complemented.
[[nodiscard]] uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> bytes);
// Folds a partial sum to 16 bits and complements it: the value that goes into a header. A
// header whose checksum field is right sums (with that field) to 0 here.
[[nodiscard]] uint16_t checksum_finish(uint32_t sum);
// The partial sum of the TCP pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length.
[[nodiscard]] uint32_t tcp_pseudo_header_sum(const Ipv4Address& src, const Ipv4Address& dst,
                                             size_t tcp_length);

struct EthernetHeader {
  MacAddress dst{};
  MacAddress src{};
  uint16_t ethertype = 0;
};
[[nodiscard]] std::optional<EthernetHeader> parse_ethernet(std::span<const uint8_t> frame);

struct ArpPacket {
  uint16_t operation = 0;  // 1 request, 2 reply
  MacAddress sender_mac{};
  Ipv4Address sender_ip{};
  MacAddress target_mac{};
  Ipv4Address target_ip{};
};
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
// The body after the Ethernet header; only hardware type Ethernet (1) with 6-byte addresses
// and protocol type IPv4 with 4-byte addresses is accepted (the only kind RFC 826 resolution
// of an IPv4 address takes).
[[nodiscard]] std::optional<ArpPacket> parse_arp(std::span<const uint8_t> body);

enum class Ipv4Error {
  kNone,
  kTruncated,    // shorter than its header or than its total length
  kBadHeader,    // version not 4, IHL under 5
  kBadChecksum,  // header checksum wrong
  kFragment,     // MF set or a fragment offset: the stack does not reassemble
};
struct Ipv4Packet {
  Ipv4Address src{};
  Ipv4Address dst{};
  uint8_t protocol = 0;
  std::span<const uint8_t> payload;  // total length less the header (Ethernet padding cut)
};
// `packet`: the bytes after the Ethernet header.
[[nodiscard]] Ipv4Error parse_ipv4_packet(std::span<const uint8_t> packet, Ipv4Packet& out);

// The TCP flags the stack uses (RFC 9293 §3.1).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

struct TcpSegment {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;  // the MSS option, when present
  std::span<const uint8_t> payload;
  // Sequence space the segment occupies: payload bytes plus one each for SYN and FIN.
  [[nodiscard]] uint32_t seq_length() const {
    return static_cast<uint32_t>(payload.size()) + ((flags & kTcpSyn) ? 1 : 0) +
           ((flags & kTcpFin) ? 1 : 0);
  }
};
// `segment`: an IPv4 packet's payload. With `check_checksum`, a wrong checksum refuses it.
// Options are walked (RFC 9293 §3.2) with every length checked; only MSS is kept.
[[nodiscard]] std::optional<TcpSegment> parse_tcp(std::span<const uint8_t> segment,
                                                  const Ipv4Address& src, const Ipv4Address& dst,
                                                  bool check_checksum);

// Writes an Ethernet header and an ARP reply (42 bytes) into `buf`; returns 0 if too small.
[[nodiscard]] size_t write_arp_reply(std::span<uint8_t> buf, const MacAddress& our_mac,
                                     const Ipv4Address& our_ip, const MacAddress& their_mac,
                                     const Ipv4Address& their_ip);

// One TCP segment for the guest, with everything write_tcp_frame needs.
struct TcpSegmentOut {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;  // written as the MSS option (SYN-ACK only)
  std::string_view payload;
};
struct FrameAddresses {
  MacAddress dst_mac{};
  MacAddress src_mac{};
  Ipv4Address src_ip{};
  Ipv4Address dst_ip{};
};
// Writes Ethernet + IPv4 (DF set, TTL 64, checksum) + TCP (checksum over the pseudo-header)
// into `buf`; returns the frame's length, or 0 when `buf` cannot hold it.
[[nodiscard]] size_t write_tcp_frame(std::span<uint8_t> buf, const FrameAddresses& addresses,
                                     const TcpSegmentOut& segment);

}  // namespace ember::mmds_net
