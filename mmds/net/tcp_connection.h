// One TCP connection of the MMDS (RFC 9293), from the guest's SYN to both FINs, holding only
// what an HTTP client needs: a passive open on the server's port, in-order data into a bounded
// receive buffer, one response at a time sent within the guest's window and MSS, go-back-N
// retransmission on a timeout or on three duplicate ACKs (RFC 5681 §3.2), and FIN both ways.
// Driven by the server (tcp_server.h): receive() per segment, poll() for the timers, then
// next_segment() says what would go out now and sent() records that it did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mmds/http_responder.h"
#include "mmds/net/frames.h"

namespace ember::mmds_net {

struct TcpLimits {
  // Firecracker's dumbo endpoint: RTO 1.2 s, 15 retransmissions, then the connection is reset.
  uint64_t rto_ns = 1'200'000'000;
  uint32_t max_retransmissions = 15;
  // Firecracker's eviction threshold: a connection idle (nothing received) this long may be
  // replaced by a new SYN when the table is full.
  uint64_t eviction_idle_ns = 40'000'000'000;
};

// Firecracker's endpoint buffers 2500 request bytes (RCV_BUF_MAX_SIZE): enough for any request
// its clients send, small enough that 30 connections cost little.
inline constexpr size_t kReceiveBufferBytes = 2500;
// Our MSS: a 1500-byte IPv4 MTU less 40 bytes of headers (so a frame is at most 1514 bytes).
inline constexpr uint16_t kOurMss = 1460;
// RFC 9293 §3.7.1: the MSS to assume when the SYN carries none.
inline constexpr uint16_t kDefaultMss = 536;

class TcpConnection {
 public:
  // A passive open: `syn` is a segment with SYN alone, to the server's port.
  TcpConnection(uint16_t local_port, const TcpSegment& syn, uint32_t iss, uint64_t now_ns,
                const TcpLimits& limits);

  // A segment of this connection (its tuple matched).
  void receive(const TcpSegment& segment, HttpResponder& responder, uint64_t now_ns);
  // Runs the retransmission timer.
  void poll(uint64_t now_ns);
  // What would be sent now, if anything; does not change the connection.
  [[nodiscard]] std::optional<TcpSegmentOut> next_segment() const;
  // Records that `segment`, the last answer of next_segment(), was written.
  void sent(const TcpSegmentOut& segment, uint64_t now_ns);

  // Both FINs exchanged and acknowledged, or a RST received: remove without a word.
  [[nodiscard]] bool closed() const { return state_ == State::kClosed; }
  // Given up (retransmissions exhausted, a request the responder could not answer): remove
  // and send the guest a RST (reset_segment()).
  [[nodiscard]] bool failed() const { return state_ == State::kFailed; }
  [[nodiscard]] TcpSegmentOut reset_segment() const;

  [[nodiscard]] uint16_t remote_port() const { return remote_port_; }
  [[nodiscard]] uint64_t last_received_ns() const { return last_received_ns_; }
  [[nodiscard]] uint16_t mss() const { return mss_; }
  [[nodiscard]] size_t buffered_request_bytes() const { return request_.size(); }

 private:
  enum class State { kSynReceived, kEstablished, kClosed, kFailed };

  void process_ack(const TcpSegment& segment, uint64_t now_ns);
  void process_data(const TcpSegment& segment);
  void serve(HttpResponder& responder);
  void check_closed();
  [[nodiscard]] uint16_t window() const;
  [[nodiscard]] uint32_t response_end() const {
    return response_seq_ + static_cast<uint32_t>(response_.size());
  }
  [[nodiscard]] bool window_blocked() const;

  TcpLimits limits_;
  State state_ = State::kSynReceived;
  uint16_t local_port_;
  uint16_t remote_port_;
  uint16_t mss_;
  uint64_t last_received_ns_;

  // Send side (RFC 9293 §3.3.1 names): the oldest unacknowledged number, the next to send
  // (moved back to snd_una_ to retransmit), the highest ever sent, the guest's window.
  uint32_t iss_;
  uint32_t snd_una_;
  uint32_t snd_nxt_;
  uint32_t snd_max_;
  uint32_t snd_wnd_;
  // Receive side.
  uint32_t rcv_nxt_;
  std::string request_;  // at most kReceiveBufferBytes; its free space is our window

  std::string response_;      // the response being sent
  uint32_t response_seq_;     // sequence number of response_[0]
  bool close_after_ = false;  // the responder asked to close after this response
  bool fin_received_ = false;
  bool want_fin_ = false;     // our FIN goes at fin_seq_ once all data before it is sent
  uint32_t fin_seq_ = 0;

  bool ack_pending_ = false;
  bool probe_pending_ = false;  // a zero-window probe (RFC 9293 §3.8.6.1)
  std::optional<uint64_t> rto_deadline_;
  uint32_t retransmissions_ = 0;
  uint32_t dup_acks_ = 0;
};

}  // namespace ember::mmds_net
