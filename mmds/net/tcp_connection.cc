#include "mmds/net/tcp_connection.h"

#include <algorithm>

namespace ember::mmds_net {
namespace {

// Sequence numbers compare modulo 2^32 (RFC 9293 §3.4).
int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
bool seq_before(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
bool seq_after(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }

}  // namespace

TcpConnection::TcpConnection(uint16_t local_port, const TcpSegment& syn, uint32_t iss,
                             uint64_t now_ns, const TcpLimits& limits)
    : limits_(limits),
      local_port_(local_port),
      remote_port_(syn.src_port),
      mss_(std::min<uint16_t>(syn.mss.value_or(kDefaultMss), kOurMss)),
      last_received_ns_(now_ns),
      iss_(iss),
      snd_una_(iss),
      snd_nxt_(iss),
      snd_max_(iss),
      snd_wnd_(syn.window),
      rcv_nxt_(syn.seq + 1),
      response_seq_(iss + 1) {
  // An MSS option of 0 would stall every send; treat it like one byte (RFC 9293 §3.7.1 only
  // bounds it from above).
  if (mss_ == 0) mss_ = 1;
  request_.reserve(kReceiveBufferBytes);
}

uint16_t TcpConnection::window() const {
  return static_cast<uint16_t>(kReceiveBufferBytes - request_.size());
}

bool TcpConnection::window_blocked() const {
  return seq_before(snd_nxt_, response_end()) &&
         seq_diff(snd_una_ + snd_wnd_, snd_nxt_) <= 0;
}

void TcpConnection::receive(const TcpSegment& s, HttpResponder& responder, uint64_t now_ns) {
  if (state_ == State::kClosed || state_ == State::kFailed) return;
  last_received_ns_ = now_ns;

  if (s.flags & kTcpRst) {
    // RFC 9293 §3.10.7.4 (and RFC 5961 §3): a RST counts only when its sequence number is
    // the one expected (or within the window); anything else is ignored.
    const int32_t offset = seq_diff(s.seq, rcv_nxt_);
    if (offset == 0 || (offset > 0 && static_cast<uint32_t>(offset) < window()))
      state_ = State::kClosed;
    return;
  }

  if (state_ == State::kSynReceived) {
    if ((s.flags & kTcpSyn) && !(s.flags & kTcpAck)) {
      // The guest's SYN again (our SYN-ACK was lost): send the SYN-ACK again.
      if (s.seq + 1 == rcv_nxt_) snd_nxt_ = iss_;
      return;
    }
    if (!(s.flags & kTcpAck) || s.ack != iss_ + 1) return;
    state_ = State::kEstablished;
    snd_una_ = iss_ + 1;
    snd_nxt_ = snd_una_;
    snd_max_ = snd_una_;
    snd_wnd_ = s.window;
    retransmissions_ = 0;
    rto_deadline_.reset();
  } else if (s.flags & kTcpSyn) {
    // A SYN inside a synchronized connection: answer with an ACK (RFC 5961 §4's challenge).
    ack_pending_ = true;
    return;
  }
  if (!(s.flags & kTcpAck)) return;  // RFC 9293 §3.10.7.4: no ACK, drop
  process_ack(s, now_ns);
  process_data(s);
  serve(responder);
  check_closed();
}

void TcpConnection::process_ack(const TcpSegment& s, uint64_t now_ns) {
  if (seq_after(s.ack, snd_max_)) {
    // Acknowledges something never sent: ACK back and drop (RFC 9293 §3.10.7.4).
    ack_pending_ = true;
    return;
  }
  if (seq_after(s.ack, snd_una_)) {
    snd_una_ = s.ack;
    if (seq_before(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;
    snd_wnd_ = s.window;
    dup_acks_ = 0;
    retransmissions_ = 0;
    if (snd_una_ == snd_max_)
      rto_deadline_.reset();
    else
      rto_deadline_ = now_ns + limits_.rto_ns;
  } else if (s.ack == snd_una_) {
    // RFC 5681 §2: a duplicate ACK carries no data, no FIN, the same window, while data is
    // outstanding. The third one retransmits from snd_una_ (fast retransmit, §3.2).
    const bool duplicate = s.payload.empty() && !(s.flags & kTcpFin) && s.window == snd_wnd_ &&
                           snd_una_ != snd_max_;
    if (duplicate) {
      if (++dup_acks_ == 3) snd_nxt_ = snd_una_;
    } else {
      dup_acks_ = 0;
    }
    snd_wnd_ = s.window;  // a window update
  }
  // An older ACK: neither the window nor anything else moves.
  if (snd_wnd_ != 0) probe_pending_ = false;
}

void TcpConnection::process_data(const TcpSegment& s) {
  const bool fin = (s.flags & kTcpFin) != 0;
  if (s.payload.empty() && !fin) return;
  ack_pending_ = true;  // every segment with data or FIN is answered, accepted or not
  if (fin_received_) return;  // nothing after the guest's FIN
  const int32_t already = seq_diff(rcv_nxt_, s.seq);
  if (already < 0) return;  // out of order: dropped, the ACK asks for rcv_nxt_ again
  auto data = s.payload;
  if (static_cast<size_t>(already) > data.size()) return;  // entirely old
  data = data.subspan(static_cast<size_t>(already));
  // Bytes past our window are dropped (RFC 9293 §3.10.7.4 trims to the window).
  const size_t take = std::min(data.size(), kReceiveBufferBytes - request_.size());
  request_.append(reinterpret_cast<const char*>(data.data()), take);
  rcv_nxt_ += static_cast<uint32_t>(take);
  if (fin && take == data.size()) {
    fin_received_ = true;
    rcv_nxt_ += 1;
  }
}

void TcpConnection::serve(HttpResponder& responder) {
  while (state_ == State::kEstablished && !want_fin_) {
    if (!response_.empty()) {
      // The next request is looked at only once the whole response is acknowledged.
      if (seq_before(snd_una_, response_end())) break;
      response_seq_ = response_end();
      response_.clear();
    }
    if (request_.empty()) break;
    const bool full = request_.size() >= kReceiveBufferBytes;
    HttpExchange exchange = responder.respond(request_, full);
    if (exchange.status != HttpExchange::Status::kAnswered) {
      if (full) state_ = State::kFailed;  // it can never complete: give up
      break;
    }
    // consumed 0 would answer the same bytes for ever: an answer consumes at least them all
    // when it claims none.
    size_t consumed = std::min(exchange.consumed, request_.size());
    if (consumed == 0) consumed = request_.size();
    request_.erase(0, consumed);
    ack_pending_ = true;  // the window opened
    response_ = std::move(exchange.response);
    response_seq_ = snd_una_;
    if (exchange.close) close_after_ = true;
    if (close_after_) break;
  }
  if (state_ != State::kEstablished || want_fin_) return;
  const bool response_done = response_.empty() || !seq_before(snd_una_, response_end());
  if (close_after_ || (fin_received_ && response_done)) {
    want_fin_ = true;
    fin_seq_ = response_end();
  }
}

void TcpConnection::check_closed() {
  if (state_ != State::kEstablished) return;
  // Both FINs through and acknowledged, and our ACK of the guest's FIN written.
  if (want_fin_ && fin_received_ && snd_una_ == fin_seq_ + 1 && !ack_pending_)
    state_ = State::kClosed;
}

void TcpConnection::poll(uint64_t now_ns) {
  if (state_ != State::kSynReceived && state_ != State::kEstablished) return;
  // The persist timer (RFC 9293 §3.8.6.1) starts when a response meets a shut window with
  // nothing in flight.
  if (!rto_deadline_ && snd_una_ == snd_max_ && snd_wnd_ == 0 && window_blocked())
    rto_deadline_ = now_ns + limits_.rto_ns;
  if (!rto_deadline_ || now_ns < *rto_deadline_) return;
  if (snd_una_ != snd_max_) {
    if (++retransmissions_ > limits_.max_retransmissions) {
      state_ = State::kFailed;
      return;
    }
    snd_nxt_ = snd_una_;  // go back to the oldest unacknowledged byte
    dup_acks_ = 0;
    rto_deadline_ = now_ns + limits_.rto_ns;
  } else if (window_blocked() && snd_wnd_ == 0) {
    // The guest's window is shut: keep asking it (its window update may have been lost).
    probe_pending_ = true;
    rto_deadline_ = now_ns + limits_.rto_ns;
  } else {
    rto_deadline_.reset();
  }
}

std::optional<TcpSegmentOut> TcpConnection::next_segment() const {
  TcpSegmentOut out;
  out.src_port = local_port_;
  out.dst_port = remote_port_;
  out.ack = rcv_nxt_;
  out.window = window();
  if (state_ == State::kSynReceived) {
    if (snd_nxt_ != iss_) return std::nullopt;
    out.seq = iss_;
    out.flags = kTcpSyn | kTcpAck;
    out.mss = kOurMss;
    return out;
  }
  if (state_ != State::kEstablished) return std::nullopt;
  out.flags = kTcpAck;
  if (seq_before(snd_nxt_, response_end())) {
    const int32_t room = seq_diff(snd_una_ + snd_wnd_, snd_nxt_);
    if (room > 0) {
      const uint32_t left = response_end() - snd_nxt_;
      const uint32_t len = std::min({uint32_t{mss_}, left, static_cast<uint32_t>(room)});
      out.seq = snd_nxt_;
      out.payload = std::string_view(response_).substr(snd_nxt_ - response_seq_, len);
      if (len == left) out.flags |= kTcpPsh;
      return out;
    }
  } else if (want_fin_ && snd_nxt_ == fin_seq_) {
    out.seq = fin_seq_;
    out.flags |= kTcpFin;
    return out;
  }
  if (probe_pending_) {
    // An ACK one below what the guest expects: it must answer with its window.
    out.seq = snd_una_ - 1;
    return out;
  }
  if (ack_pending_) {
    out.seq = snd_nxt_;
    return out;
  }
  return std::nullopt;
}

void TcpConnection::sent(const TcpSegmentOut& segment, uint64_t now_ns) {
  ack_pending_ = false;
  if (segment.seq == snd_una_ - 1 && !(segment.flags & (kTcpSyn | kTcpFin)) &&
      segment.payload.empty())
    probe_pending_ = false;
  const uint32_t length = static_cast<uint32_t>(segment.payload.size()) +
                          ((segment.flags & kTcpSyn) ? 1 : 0) +
                          ((segment.flags & kTcpFin) ? 1 : 0);
  if (length != 0) {
    snd_nxt_ = segment.seq + length;
    if (seq_after(snd_nxt_, snd_max_)) snd_max_ = snd_nxt_;
    if (!rto_deadline_) rto_deadline_ = now_ns + limits_.rto_ns;
  }
  check_closed();
}

TcpSegmentOut TcpConnection::reset_segment() const {
  TcpSegmentOut out;
  out.src_port = local_port_;
  out.dst_port = remote_port_;
  out.seq = snd_max_;
  out.ack = rcv_nxt_;
  out.flags = kTcpRst | kTcpAck;
  return out;
}

}  // namespace ember::mmds_net
