// The MMDS's TCP side (Firecracker's dumbo TcpIPv4Handler in behaviour): the table of
// connections, keyed by the guest's address and port, and the queue of RSTs for segments that
// belong to none. Firecracker's bounds: 30 connections (a SYN to a full table replaces the
// connection idle longest if it has been idle past the eviction threshold, else it is answered
// with a RST) and 100 queued RSTs (more are dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "mmds/counters.h"
#include "mmds/http_responder.h"
#include "mmds/net/frames.h"
#include "mmds/net/tcp_connection.h"

namespace ember::mmds_net {

inline constexpr uint16_t kMmdsPort = 80;
inline constexpr size_t kMaxConnections = 30;
inline constexpr size_t kMaxPendingResets = 100;

// A segment for the guest, and the guest address it goes to.
struct OutgoingSegment {
  Ipv4Address remote{};
  TcpSegmentOut segment;
};

class TcpServer {
 public:
  TcpServer(MmdsCounterSet& counters, TcpLimits limits = {});

  // A TCP segment from `remote` to our address (already parsed and checked).
  void receive(const Ipv4Address& remote, const TcpSegment& segment, HttpResponder& responder,
               uint64_t now_ns);
  // Runs every connection's timers and drops the ones that gave up (queuing their RST).
  void poll(uint64_t now_ns);
  [[nodiscard]] bool has_segment() const;
  // The next segment: a queued RST first, then the connections in turn. nullopt: none.
  [[nodiscard]] std::optional<OutgoingSegment> take_segment(uint64_t now_ns);

  [[nodiscard]] size_t connection_count() const { return connections_.size(); }
  [[nodiscard]] size_t pending_resets() const { return resets_.size(); }

 private:
  struct Entry {
    Ipv4Address remote;
    TcpConnection connection;
  };

  void open(const Ipv4Address& remote, const TcpSegment& syn, uint64_t now_ns);
  void queue_reset(const Ipv4Address& remote, const TcpSegmentOut& rst);
  void queue_reset_for(const Ipv4Address& remote, const TcpSegment& segment);
  // Removes connections that closed or failed (failed ones leave a RST behind).
  void sweep();
  uint32_t next_iss(uint64_t now_ns);

  MmdsCounterSet& counters_;
  TcpLimits limits_;
  std::vector<Entry> connections_;
  std::deque<OutgoingSegment> resets_;
  size_t next_index_ = 0;  // round robin among connections
  uint32_t iss_salt_ = 0x9e3779b9;
};

}  // namespace ember::mmds_net
