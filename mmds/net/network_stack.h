// The MMDS's network stack on one guest interface (Firecracker's MmdsNetworkStack, ns.rs, in
// behaviour): answers ARP for the MMDS address from Firecracker's MMDS MAC, takes IPv4/TCP to
// port 80 into tcp_server.h, and writes the frames the guest gets back. A FrameDetour: the
// virtio-net device hands it the frames it wants and asks it for frames to deliver. All calls
// on one thread (the device's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "devices/rate_limiter/clock.h"
#include "devices/virtio/net/frame_detour.h"
#include "mmds/counters.h"
#include "mmds/http_responder.h"
#include "mmds/ipv4_address.h"
#include "mmds/net/frames.h"
#include "mmds/net/tcp_server.h"

namespace ember {

// Firecracker's MMDS MAC address (ns.rs DEFAULT_MAC_ADDR).
inline constexpr mmds_net::MacAddress kMmdsMac = {0x06, 0x01, 0x23, 0x45, 0x67, 0x01};

class MmdsNetworkStack final : public FrameDetour {
 public:
  MmdsNetworkStack(Ipv4Address address, HttpResponder& responder, MmdsCounterSet& counters,
                   const MonotonicClock& clock, mmds_net::TcpLimits limits = {});

  [[nodiscard]] bool wants(std::span<const uint8_t> head) const override;
  void take(std::span<const uint8_t> frame, bool checksum_partial) override;
  [[nodiscard]] bool has_frame() override;
  [[nodiscard]] size_t next_frame(std::span<uint8_t> buf) override;

  [[nodiscard]] const mmds_net::TcpServer& tcp() const { return server_; }

 private:
  void take_arp(const mmds_net::EthernetHeader& eth, std::span<const uint8_t> body);
  void take_ipv4(const mmds_net::EthernetHeader& eth, std::span<const uint8_t> body,
                 bool checksum_partial);
  void count_sent(size_t bytes);

  Ipv4Address address_;
  HttpResponder& responder_;
  MmdsCounterSet& counters_;
  const MonotonicClock& clock_;
  mmds_net::TcpServer server_;
  // Where frames for the guest go: the source MAC of its last frame for us (Firecracker keeps
  // one such address per stack).
  mmds_net::MacAddress remote_mac_{};
  struct ArpReply {
    mmds_net::MacAddress mac;
    Ipv4Address ip;
  };
  std::optional<ArpReply> arp_reply_;  // one at most, as Firecracker's
};

}  // namespace ember
