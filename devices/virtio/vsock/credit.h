// Credit-based flow control of one vsock stream (virtio 1.2 §5.10.6.3), seen from the device.
//
// Each side advertises, in every packet it sends, buf_alloc (its receive buffer) and fwd_cnt
// (bytes it has consumed from that buffer so far; a free-running u32). A sender may have at
// most buf_alloc - (bytes sent - peer's fwd_cnt) bytes in flight: the rest waits for a
// CREDIT_UPDATE. Counters wrap modulo 2^32, so all differences are taken in u32 arithmetic.
#pragma once

#include <cstdint>

namespace ember::vsock {

class Credit {
 public:
  // `buf_alloc`: the receive buffer the device advertises for this connection.
  explicit Credit(uint32_t buf_alloc) : buf_alloc_(buf_alloc) {}

  // --- Device to guest: what the guest lets the device send.
  // Every guest packet carries the guest's view; the latest one wins.
  void update_peer(uint32_t peer_buf_alloc, uint32_t peer_fwd_cnt) {
    peer_buf_alloc_ = peer_buf_alloc;
    peer_fwd_cnt_ = peer_fwd_cnt;
  }
  // Bytes the device may still send. A guest whose numbers make no sense (fwd_cnt ahead of
  // what was sent, a buffer shrunk below what is in flight) gets nothing until it fixes them.
  [[nodiscard]] uint32_t peer_free() const {
    const uint32_t in_flight = tx_cnt_ - peer_fwd_cnt_;
    return in_flight >= peer_buf_alloc_ ? 0 : peer_buf_alloc_ - in_flight;
  }
  void on_sent_to_guest(uint32_t n) { tx_cnt_ += n; }

  // --- Guest to device: what the device lets the guest send.
  [[nodiscard]] uint32_t buf_alloc() const { return buf_alloc_; }
  [[nodiscard]] uint32_t fwd_cnt() const { return fwd_cnt_; }
  // Bytes received from the guest and not yet forwarded to the host socket.
  [[nodiscard]] uint32_t buffered() const { return rx_cnt_ - fwd_cnt_; }
  // Whether `n` more bytes stay within the advertised buffer.
  [[nodiscard]] bool fits(uint32_t n) const { return n <= buf_alloc_ - buffered(); }
  void on_received_from_guest(uint32_t n) { rx_cnt_ += n; }
  void on_forwarded_to_host(uint32_t n) { fwd_cnt_ += n; }

  // A packet with buf_alloc/fwd_cnt went to the guest: it now knows the current numbers.
  void mark_advertised() { advertised_fwd_cnt_ = fwd_cnt_; }
  // Whether the guest should be sent a CREDIT_UPDATE now: the free space it knows of has
  // fallen below one maximal packet (or the whole buffer, if smaller) while more is free.
  // Once the host drains everything the update is always due, so a guest waiting for credit
  // is never left waiting.
  [[nodiscard]] bool update_due(uint32_t low_water) const {
    if (fwd_cnt_ == advertised_fwd_cnt_) return false;
    const uint32_t known_used = rx_cnt_ - advertised_fwd_cnt_;
    const uint32_t known_free = known_used >= buf_alloc_ ? 0 : buf_alloc_ - known_used;
    const uint32_t threshold = low_water < buf_alloc_ ? low_water : buf_alloc_;
    return known_free < threshold;
  }

 private:
  uint32_t buf_alloc_;
  uint32_t rx_cnt_ = 0;
  uint32_t fwd_cnt_ = 0;
  uint32_t advertised_fwd_cnt_ = 0;
  uint32_t tx_cnt_ = 0;
  uint32_t peer_buf_alloc_ = 0;
  uint32_t peer_fwd_cnt_ = 0;
};

}  // namespace ember::vsock
