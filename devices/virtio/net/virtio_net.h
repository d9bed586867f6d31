// virtio-net (virtio 1.2 §5.1): one receive and one transmit queue in front of a NetBackend
// (a host TAP device).
//
// Offered features: VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC,
// VIRTIO_NET_F_CSUM, GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_UFO, HOST_TSO4, HOST_TSO6,
// HOST_UFO, STATUS (the link is always up), MAC when a MAC is configured, MTU when an MTU is.
// Not offered: MRG_RXBUF (each received frame goes into one descriptor chain, which keeps the
// receive path a single readv into guest memory; a driver that takes TSO/UFO then posts
// 65562-byte chains, §5.1.6.3.1), CTRL_VQ and multiqueue.
//
// Transmit (§5.1.6.2): each chain (header + frame, readable buffers only) is handed to the
// backend with one writev straight from guest memory. Receive (§5.1.6.3, §5.1.6.4): a frame is
// read with one readv straight into the guest's chain; the device then sets num_buffers to 1.
// Both directions go through their rate limiter: a transmit chain over the limit is kept
// (not returned) until the limiter's timer fires; a received frame over the limit stays in
// its guest buffers, unpublished, until then.
//
// The backend fd is watched edge-triggered: the device reads until the backend is empty or
// the guest has no receive buffer left, and in the latter case remembers that the backend
// still holds frames and goes on when the driver adds buffers (process_queue(0)). Nothing
// spins while the guest is not reading.
//
// Bad guest input never stops the device: a transmit chain with a device-writable buffer,
// shorter than the header or longer than kMaxFrameSize + header is returned unsent and
// counted (tx_dropped); a receive chain with a readable buffer or shorter than the header is
// returned with length 0 and counted (rx_errors); a frame too long for the guest's receive
// chain is dropped and counted (rx_dropped), the chain kept for the next frame. Only a broken
// queue (VirtQueue errors) makes the transport ask for a reset.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/rate_limiter/rate_limiter.h"
#include "devices/virtio/net/frame_detour.h"
#include "devices/virtio/net/net_backend.h"
#include "devices/virtio/net/net_counters.h"
#include "devices/virtio/net/virtio_net_defs.h"
#include "devices/virtio/device_base.h"
#include "devices/virtio/queue.h"

namespace ember {

using NetMacAddress = std::array<uint8_t, 6>;

struct VirtioNetConfig {
  std::string id;             // names the device in logs (the API's iface_id)
  std::string host_dev_name;  // the tap interface, for create()
  std::optional<NetMacAddress> guest_mac;
  std::optional<uint16_t> mtu;  // advertised with VIRTIO_NET_F_MTU; 68 to 65535
  RateLimiterLimits rx_rate_limiter;
  RateLimiterLimits tx_rate_limiter;
  uint16_t queue_size = VirtQueue::kDefaultMaxSize;  // both queues; a power of two, 2 to 32768
};

class VirtioNet final : public VirtioDeviceBase<VirtioNetCounters> {
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };

 public:
  // process_event() ids; the fds behind them are watched through the EventRegistrar.
  static constexpr uint32_t kBackendEvent = 0;        // backend fd, EPOLLIN | EPOLLET
  static constexpr uint32_t kRxRateLimiterEvent = 1;  // rx limiter timerfd, EPOLLIN
  static constexpr uint32_t kTxRateLimiterEvent = 2;  // tx limiter timerfd, EPOLLIN

  // Opens the tap `config.host_dev_name` and builds the device on it.
  [[nodiscard]] static Result<std::unique_ptr<VirtioNet>> create(const VirtioNetConfig& config,
                                                                 EventRegistrar& events);
  // With any backend (tests: a socket). Watches the backend fd and the two limiter timers on
  // `events`, which must outlive the device (the destructor unwatches them). `clock` drives
  // the rate limiters and must outlive the device too.
  [[nodiscard]] static Result<std::unique_ptr<VirtioNet>> create_with_backend(
      const VirtioNetConfig& config, std::unique_ptr<NetBackend> backend, EventRegistrar& events,
      const MonotonicClock& clock = system_monotonic_clock());
  // The config's own rules (queue size, MTU, MAC, tap name when given), opening nothing.
  [[nodiscard]] static Result<void> check_config(const VirtioNetConfig& config);

  ~VirtioNet() override;
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  // VirtioDevice (process_queue() and process_event(): VirtioDeviceBase).
  [[nodiscard]] uint32_t device_type() const override;
  [[nodiscard]] std::span<const uint16_t> queue_max_sizes() const override { return queue_sizes_; }
  [[nodiscard]] uint64_t device_features() const override { return features_; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  [[nodiscard]] Result<void> activate(const GuestMemory& mem, uint64_t acked_features,
                                      std::span<VirtQueue> queues,
                                      VirtioInterrupt& interrupt) override;
  void reset() override;
  [[nodiscard]] std::vector<uint8_t> save_device_state() const override;
  [[nodiscard]] Result<void> restore_device_state(std::span<const uint8_t> bytes) override;

  // An API PATCH of the interface's limiters, from any thread (the limiters lock themselves).
  // A limiter blocked at the time retries through its timer event right away.
  void update_rate_limiters(const RateLimiterUpdate& rx, const RateLimiterUpdate& tx);
  [[nodiscard]] RateLimiterLimits rx_rate_limits() const { return rx_limiter_->limits(); }
  [[nodiscard]] RateLimiterLimits tx_rate_limits() const { return tx_limiter_->limits(); }

  [[nodiscard]] const std::optional<NetMacAddress>& guest_mac() const { return mac_; }
  // A service the VMM answers itself on this interface (the MMDS; frame_detour.h), or null
  // for none. VMM thread only, like the data path that calls it.
  void set_detour(std::shared_ptr<FrameDetour> detour) { detour_ = std::move(detour); }
  [[nodiscard]] const std::shared_ptr<FrameDetour>& detour() const { return detour_; }
  // The offloads the backend took at the last activation (for tests and logs).
  [[nodiscard]] GuestOffloads backend_offloads() const { return backend_offloads_; }

  // Use the create functions (only they can make the key).
  VirtioNet(ConstructionKey, const VirtioNetConfig& config, std::unique_ptr<NetBackend> backend,
            EventRegistrar& events, std::unique_ptr<RateLimiter> rx_limiter,
            std::unique_ptr<RateLimiter> tx_limiter);

 private:
  // VirtioDeviceBase.
  [[nodiscard]] Result<void> serve_queue(uint16_t index) override;
  [[nodiscard]] Result<void> serve_event(uint32_t event_id) override;
  [[nodiscard]] std::string problem_source() const override;

  // Only while active.
  [[nodiscard]] VirtQueue& rx_queue() const { return activation_.queue(virtio_net::kRxQueue); }
  [[nodiscard]] VirtQueue& tx_queue() const { return activation_.queue(virtio_net::kTxQueue); }

  [[nodiscard]] Result<void> watch_events();
  [[nodiscard]] Result<void> process_tx();
  [[nodiscard]] Result<void> process_rx();
  // One chain of the transmit queue (tx_chain_): sends it or drops it.
  [[nodiscard]] Result<void> transmit();
  // Reads one frame into rx_chain_ (held). Returns whether to go on reading.
  [[nodiscard]] Result<bool> receive_one(bool* used);
  // Pops a receive chain into rx_chain_ unless one is held. Returns whether one is held now;
  // a malformed chain is returned to the driver on the way (and *used set).
  [[nodiscard]] Result<bool> hold_rx_chain(bool* used);
  // Whether the transmit chain held is for the detour; then it has taken it.
  [[nodiscard]] Result<bool> detour_transmit();
  // Writes the detour's next frame into the held receive chain (which it then publishes).
  [[nodiscard]] Result<void> receive_from_detour(bool* used);
  [[nodiscard]] bool detour_has_frame() const { return detour_ && detour_->has_frame(); }
  [[nodiscard]] Result<void> deliver(uint64_t frame_length, bool* used);
  [[nodiscard]] Result<void> build_iov(const DescriptorChain& chain);
  [[nodiscard]] Result<void> release_restored_heads();

  const std::string id_;
  const std::unique_ptr<NetBackend> backend_;
  EventRegistrar& events_;
  const std::unique_ptr<RateLimiter> rx_limiter_;
  const std::unique_ptr<RateLimiter> tx_limiter_;
  std::optional<NetMacAddress> mac_;
  std::optional<uint16_t> mtu_;
  std::array<uint16_t, 2> queue_sizes_;
  uint64_t features_;
  std::vector<int> watched_fds_;

  // Set at activation.
  GuestOffloads backend_offloads_;

  // Receive state: the backend may hold frames (an edge was seen and it has not read empty
  // since); a chain popped from the receive queue and not returned yet, with its capacity;
  // a frame already in that chain waiting for the rate limiter.
  bool backend_readable_ = true;
  bool rx_chain_held_ = false;
  DescriptorChain rx_chain_;
  uint64_t rx_chain_capacity_ = 0;
  bool rx_frame_waiting_ = false;
  uint64_t rx_frame_length_ = 0;
  // Transmit state: a chain popped but held back by the rate limiter.
  bool tx_chain_held_ = false;
  DescriptorChain tx_chain_;
  uint64_t tx_chain_length_ = 0;
  bool tx_throttled_ = false;  // the held chain was already counted as rate limited

  // Heads a restored snapshot says the device held (see save_device_state()): returned to
  // the driver, unused, at the next activation.
  std::optional<uint16_t> restored_rx_head_;
  std::optional<uint16_t> restored_tx_head_;

  std::shared_ptr<FrameDetour> detour_;

  // Reused between frames so the data path does not allocate.
  std::vector<uint8_t> detour_frame_;  // a frame on its way to or from the detour
  std::vector<iovec> iov_;
  std::vector<uint8_t> rx_spill_;  // one byte past what the device accepts: detects overlong
};

}  // namespace ember
