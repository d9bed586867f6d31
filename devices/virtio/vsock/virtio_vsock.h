// virtio-vsock (virtio 1.2 §5.10) with Firecracker's hybrid backend: guest AF_VSOCK streams
// become host AF_UNIX streams (see Firecracker's docs/vsock.md).
//
// - Host-initiated: a host process connects to the listening socket at `uds_path` and sends
//   "CONNECT <port>\n"; the device sends the guest a REQUEST for that port and, when the guest
//   answers RESPONSE, writes "OK <host port>\n" (a port the device assigns, from 2^30 up) to
//   the host socket, which then carries the stream. An RST from the guest, or no answer within
//   `connect_timeout`, closes the host socket. A malformed command closes it at once.
// - Guest-initiated: a REQUEST for host CID 2, port P makes the device connect to
//   "<uds_path>_<P>"; RESPONSE on success, RST when nothing listens there.
//
// Queues (§5.10.2): 0 rx (device to driver), 1 tx (driver to device), 2 event. Offered
// features: VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC; stream sockets
// only (no VIRTIO_VSOCK_F_SEQPACKET). Config space (§5.10.4): le64 guest_cid.
//
// Flow control (§5.10.6.3) both ways: the device sends the guest no more than the credit the
// guest advertised, reading a host socket only while there is credit and an rx buffer for it;
// and it advertises `buf_alloc` bytes per connection, buffering guest data the host socket
// cannot take yet up to exactly that much (a guest that sends more is reset).
//
// Misbehaving guests: a packet with a bad header, a bad length, another destination CID, an
// unknown type or op, or an op the connection's state does not allow is answered with an RST
// (and its connection, if any, closed); a packet too short to have a header, or claiming
// another source CID, is dropped. None of this stops the device; only a broken queue does.
//
// Host fds (the listener, a timerfd, each connection) are non-blocking and watched through
// the EventRegistrar, level-triggered: the device watches a socket only for what it can act
// on now, so that a ready fd it cannot serve (no credit, no rx buffer) never spins the loop.
// The registrar is called from activate(), reset(), process_queue() and process_event(),
// i.e. on whichever thread drives the transport (vCPU threads included), under its lock.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/virtio/device_base.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/vsock/vsock_connection.h"
#include "devices/virtio/vsock/vsock_counters.h"
#include "devices/virtio/vsock/vsock_packet.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

struct VirtioVsockConfig {
  // 3 to 2^32-2 (0 to 2 are reserved, 2^32-1 is VMADDR_CID_ANY).
  uint32_t guest_cid = 3;
  // Where the device listens; must not exist yet. Guest connections to port P go to
  // "<uds_path>_<P>".
  std::string uds_path;
  uint16_t queue_size = 256;  // a power of two, 2 to 32768
  // Open connections at most, host connections still sending their command included; more
  // are refused (host: socket closed, guest: RST).
  uint32_t max_connections = 1024;
  // How long the guest has to answer a host-initiated REQUEST.
  std::chrono::milliseconds connect_timeout{2000};
  // Receive buffer advertised to the guest per connection (4 KiB to 16 MiB): the most guest
  // data the device holds for one host socket that is not reading.
  uint32_t buf_alloc = 256 * 1024;
};

class VirtioVsock final : public VirtioDeviceBase<VirtioVsockCounters> {
 public:
  // process_event() ids. A connection's id is kFirstConnectionEvent + its slot; ids are
  // reused after a connection closes, and a stale event for a reused id is harmless.
  static constexpr uint32_t kListenerEvent = 0;
  static constexpr uint32_t kTimerEvent = 1;
  // Not an fd: the VMM calls transport.process_device_event(kTransportResetEvent) after a
  // snapshot restore, which runs send_transport_reset() under the transport's lock.
  static constexpr uint32_t kTransportResetEvent = 2;
  static constexpr uint32_t kFirstConnectionEvent = 16;

  // Checks the config, binds and listens at uds_path (nothing is watched before activate()).
  // `registrar` must outlive the device.
  [[nodiscard]] static Result<std::unique_ptr<VirtioVsock>> create(const VirtioVsockConfig& config,
                                                                   EventRegistrar& registrar);
  [[nodiscard]] static Result<void> check_config(const VirtioVsockConfig& config);
  // Closes every socket and removes uds_path (when it is still the socket bound here).
  ~VirtioVsock() override;
  VirtioVsock(const VirtioVsock&) = delete;
  VirtioVsock& operator=(const VirtioVsock&) = delete;

  // VirtioDevice (process_queue() and process_event(): VirtioDeviceBase).
  [[nodiscard]] uint32_t device_type() const override;
  [[nodiscard]] std::span<const uint16_t> queue_max_sizes() const override { return queue_sizes_; }
  [[nodiscard]] uint64_t device_features() const override { return features_; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  [[nodiscard]] Result<void> activate(const GuestMemory& mem, uint64_t acked_features,
                                      std::span<VirtQueue> queues,
                                      VirtioInterrupt& interrupt) override;
  // Closes every connection (their host sockets too) and stops watching fds; the listener
  // stays bound, and connections queued on it wait for the next activation.
  void reset() override;
  // guest_cid only: connections are never saved (the guest learns of their loss through
  // send_transport_reset()).
  [[nodiscard]] std::vector<uint8_t> save_device_state() const override;
  [[nodiscard]] Result<void> restore_device_state(std::span<const uint8_t> bytes) override;

  // After a snapshot restore (§5.10.6.7): closes every connection and tells the driver with
  // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue (when the driver has no event
  // buffer yet, as soon as it posts one). Must run under the transport's lock: prefer
  // transport.process_device_event(kTransportResetEvent).
  [[nodiscard]] Result<void> send_transport_reset();

  [[nodiscard]] uint32_t guest_cid() const { return guest_cid_; }
  [[nodiscard]] const std::string& uds_path() const { return uds_path_; }
  // For tests and introspection.
  [[nodiscard]] int listener_fd() const { return listener_.get(); }
  [[nodiscard]] int timer_fd() const { return timer_.get(); }
  [[nodiscard]] size_t connection_count() const { return live_connections_; }

 private:
  static constexpr uint16_t kRxQueue = 0, kTxQueue = 1, kEventQueue = 2;
  // RSTs waiting for rx buffers: past the soft limit the tx queue is left alone (the guest
  // waits) until they drain; past the hard limit (only host-side events get there) new ones
  // are dropped.
  static constexpr size_t kRstQueueSoftLimit = 256;
  static constexpr size_t kRstQueueLimit = 4096;
  // RW packets one host socket event may produce before others get their turn.
  static constexpr int kMaxReadsPerEvent = 16;

  // VirtioDeviceBase.
  [[nodiscard]] Result<void> serve_queue(uint16_t index) override;
  [[nodiscard]] Result<void> serve_event(uint32_t event_id) override;
  [[nodiscard]] std::string problem_source() const override;

  // Only while active. The event queue may not be ready: a transport reset then has nobody
  // to tell.
  [[nodiscard]] VirtQueue& rx_queue() const { return activation_.queue(kRxQueue); }
  [[nodiscard]] VirtQueue& tx_queue() const { return activation_.queue(kTxQueue); }
  [[nodiscard]] VirtQueue& event_queue() const { return activation_.queue(kEventQueue); }
  // An rx chain popped from the queue and mapped, not yet returned.
  struct RxChain {
    uint16_t head = 0;
    vsock::RxChainView view;
  };
  using Key = uint64_t;  // local_port << 32 | peer_port
  static Key key_of(uint32_t local_port, uint32_t peer_port) {
    return (uint64_t{local_port} << 32) | peer_port;
  }

  VirtioVsock(const VirtioVsockConfig& config, UniqueFd listener, UniqueFd timer,
              EventRegistrar& registrar);

  // --- Guest packets (tx queue); virtio_vsock_tx.cc.
  [[nodiscard]] Result<void> process_tx();
  // `problem` is empty for a well-formed packet, else why its payload is bad.
  void handle_guest_packet(const vsock::TxPacket& packet, const std::string& problem);
  void handle_connection_packet(vsock::Connection& c, const vsock::TxPacket& packet);
  void guest_connect(const vsock::PacketHeader& h);
  void guest_data(vsock::Connection& c, const vsock::TxPacket& packet);
  void guest_shutdown(vsock::Connection& c, uint32_t flags);

  // --- Packets to the guest (rx queue); virtio_vsock_rx.cc.
  // Takes an rx chain (the kept one, or a new one from the queue); false when the driver
  // has none, which marks the device starved until the driver posts more.
  [[nodiscard]] Result<bool> take_rx_chain(RxChain* out);
  [[nodiscard]] Result<void> send_header(RxChain& chain, const vsock::PacketHeader& h);
  // Sends queued RSTs and connections' pending control packets while rx buffers last.
  [[nodiscard]] Result<void> flush_control();
  [[nodiscard]] Result<bool> send_pending(vsock::Connection& c);
  // Host socket to guest: RW packets while there is credit and rx buffers.
  [[nodiscard]] Result<void> read_host(vsock::Connection& c);
  [[nodiscard]] Result<void> deliver_transport_reset();
  vsock::PacketHeader header_for(const vsock::Connection& c, uint16_t op) const;
  // An RST from (src_cid, src_port) to the guest's dst_port.
  void queue_rst(uint64_t src_cid, uint32_t src_port, uint32_t dst_port);
  // Answers a guest packet that has no connection with an RST.
  void reject(const vsock::PacketHeader& h, vsock::Connection* c, const std::string& why);
  [[nodiscard]] Result<void> reset_transport();
  // Everything that follows an event: owed packets, tx resumed, notifications.
  [[nodiscard]] Result<void> finish_round();
  void queue_control(vsock::Connection& c, uint32_t ops);
  void notify_used();

  // --- Host sockets and connections; virtio_vsock_host.cc.
  void accept_host_connections();
  [[nodiscard]] Result<void> host_connection_event(vsock::Connection& c);
  void read_command(vsock::Connection& c);
  // Flushes guest bytes to the host socket; false when that closed the connection.
  [[nodiscard]] bool write_host(vsock::Connection& c);
  // Whether the connection may read its host socket now (credit aside from rx buffers).
  [[nodiscard]] static bool may_read_host(const vsock::Connection& c);
  [[nodiscard]] vsock::Connection* add_connection(UniqueFd fd);
  vsock::Connection* find(uint32_t local_port, uint32_t peer_port);
  void establish(vsock::Connection& c);
  // Closes a connection, with an RST to the guest if it knows of it and `rst` is set.
  void close_connection(vsock::Connection& c, bool rst);
  void close_all_connections();
  // Registers what the connection can act on now (see the file comment).
  void update_interest(vsock::Connection& c);
  void set_listener_watched(bool on);
  // Out of fds: stop accepting for a while (a level-triggered listener would spin).
  void pause_listener();
  uint32_t assign_local_port(uint32_t peer_port);
  void set_deadline(vsock::Connection& c);
  void clear_deadline(vsock::Connection& c);
  void expire_deadlines();
  void arm_timer();

  // Configuration.
  uint32_t guest_cid_;
  const std::string uds_path_;
  const uint32_t max_connections_;
  const std::chrono::milliseconds connect_timeout_;
  const uint32_t buf_alloc_;
  std::array<uint16_t, 3> queue_sizes_;
  uint64_t features_;
  EventRegistrar& registrar_;
  UniqueFd listener_;
  UniqueFd timer_;
  dev_t listener_dev_ = 0;  // identify uds_path as ours when removing it
  ino_t listener_ino_ = 0;

  // Used while active.
  bool listener_watched_ = false;
  bool listener_paused_ = false;  // out of fds: stop accepting until a connection closes
  bool timer_watched_ = false;
  std::chrono::steady_clock::time_point listener_retry_at_{};

  // Connections by slot (event id) and by (local port, peer port) once they have ports.
  std::vector<std::unique_ptr<vsock::Connection>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<Key, uint32_t> by_key_;
  size_t live_connections_ = 0;
  uint32_t next_local_port_;

  // Packets owed to the guest: RSTs for no connection (or a closed one), and connections
  // with pending control packets, in order.
  std::deque<vsock::PacketHeader> rst_queue_;
  std::deque<uint32_t> rx_list_;
  std::vector<uint32_t> starved_;  // slots that stopped reading for want of rx buffers
  std::optional<RxChain> kept_rx_;  // popped but unused (a read found nothing)
  bool rx_starved_ = false;
  bool tx_blocked_ = false;  // tx processing paused until RSTs drain
  bool transport_reset_pending_ = false;
  std::array<bool, 3> used_{};  // queues with buffers returned since the last notification

  size_t deadlines_ = 0;
  std::chrono::steady_clock::time_point armed_{};  // timer expiry set; epoch: disarmed

  // Reused buffers.
  vsock::TxPacket packet_;
  DescriptorChain chain_;
  std::vector<iovec> iov_;
};

}  // namespace ember
