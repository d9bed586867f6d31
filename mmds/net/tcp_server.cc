#include "mmds/net/tcp_server.h"

#include <algorithm>

namespace ember::mmds_net {

TcpServer::TcpServer(MmdsCounterSet& counters, TcpLimits limits)
    : counters_(counters), limits_(limits) {
  connections_.reserve(kMaxConnections);
}

uint32_t TcpServer::next_iss(uint64_t now_ns) {
  // RFC 9293 §3.4.1 wants initial sequence numbers that move with time and differ per
  // connection; nothing here guards against an off-path attacker (the only peer is the
  // guest), so a clock-driven counter stirred per connection is enough.
  iss_salt_ = iss_salt_ * 1664525u + 1013904223u;
  return static_cast<uint32_t>(now_ns / 4000) ^ iss_salt_;
}

void TcpServer::queue_reset(const Ipv4Address& remote, const TcpSegmentOut& rst) {
  if (resets_.size() >= kMaxPendingResets) return;  // Firecracker forgoes RSTs past the bound
  resets_.push_back({remote, rst});
}

void TcpServer::queue_reset_for(const Ipv4Address& remote, const TcpSegment& s) {
  if (s.flags & kTcpRst) return;  // never a RST for a RST (RFC 9293 §3.10.7.1)
  TcpSegmentOut rst;
  rst.src_port = s.dst_port;
  rst.dst_port = s.src_port;
  if (s.flags & kTcpAck) {
    rst.seq = s.ack;
    rst.flags = kTcpRst;
  } else {
    rst.seq = 0;
    rst.ack = s.seq + s.seq_length();
    rst.flags = kTcpRst | kTcpAck;
  }
  queue_reset(remote, rst);
}

void TcpServer::sweep() {
  for (size_t i = 0; i < connections_.size();) {
    const TcpConnection& c = connections_[i].connection;
    if (!c.closed() && !c.failed()) {
      ++i;
      continue;
    }
    if (c.failed()) queue_reset(connections_[i].remote, c.reset_segment());
    counters_.add(&MmdsCounters::connections_destroyed);
    connections_.erase(connections_.begin() + static_cast<ptrdiff_t>(i));
    if (next_index_ > i) --next_index_;
  }
}

void TcpServer::open(const Ipv4Address& remote, const TcpSegment& syn, uint64_t now_ns) {
  if (connections_.size() >= kMaxConnections) {
    // Firecracker replaces only a connection that has been idle past its eviction threshold;
    // of those, we take the one idle longest.
    auto oldest = std::min_element(connections_.begin(), connections_.end(),
                                   [](const Entry& a, const Entry& b) {
                                     return a.connection.last_received_ns() <
                                            b.connection.last_received_ns();
                                   });
    if (now_ns - oldest->connection.last_received_ns() <= limits_.eviction_idle_ns) {
      queue_reset_for(remote, syn);
      return;
    }
    queue_reset(oldest->remote, oldest->connection.reset_segment());
    const size_t index = static_cast<size_t>(oldest - connections_.begin());
    connections_.erase(oldest);
    if (next_index_ > index) --next_index_;
    counters_.add(&MmdsCounters::connections_destroyed);
  }
  connections_.push_back({remote, TcpConnection(kMmdsPort, syn, next_iss(now_ns), now_ns,
                                                 limits_)});
  counters_.add(&MmdsCounters::connections_created);
}

void TcpServer::receive(const Ipv4Address& remote, const TcpSegment& s,
                        HttpResponder& responder, uint64_t now_ns) {
  sweep();
  if (s.dst_port != kMmdsPort) {
    counters_.add(&MmdsCounters::rx_accepted_err);
    queue_reset_for(remote, s);
    return;
  }
  counters_.add(&MmdsCounters::rx_count);
  auto it = std::find_if(connections_.begin(), connections_.end(), [&](const Entry& e) {
    return e.remote == remote && e.connection.remote_port() == s.src_port;
  });
  if (it != connections_.end()) {
    it->connection.receive(s, responder, now_ns);
    sweep();
    return;
  }
  if ((s.flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) == kTcpSyn) {
    open(remote, s, now_ns);
  } else {
    queue_reset_for(remote, s);
  }
}

void TcpServer::poll(uint64_t now_ns) {
  for (Entry& e : connections_) e.connection.poll(now_ns);
  sweep();
}

bool TcpServer::has_segment() const {
  if (!resets_.empty()) return true;
  return std::any_of(connections_.begin(), connections_.end(),
                     [](const Entry& e) { return e.connection.next_segment().has_value(); });
}

std::optional<OutgoingSegment> TcpServer::take_segment(uint64_t now_ns) {
  if (!resets_.empty()) {
    OutgoingSegment out = resets_.front();
    resets_.pop_front();
    return out;
  }
  const size_t n = connections_.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (next_index_ + k) % n;
    Entry& e = connections_[i];
    if (auto segment = e.connection.next_segment()) {
      e.connection.sent(*segment, now_ns);
      next_index_ = i + 1;
      // The payload points into the connection's response, which stays until the next
      // poll() or receive() (the only places connections are removed).
      return OutgoingSegment{e.remote, *segment};
    }
  }
  return std::nullopt;
}

}  // namespace ember::mmds_net
