// The device itself: configuration, activation, dispatch, state. Guest packets are handled in
// virtio_vsock_tx.cc, packets to the guest in virtio_vsock_rx.cc, host sockets in
// virtio_vsock_host.cc.
#include "devices/virtio/vsock/virtio_vsock.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "devices/virtio/config_space.h"
#include "devices/virtio/queue_size.h"
#include "devices/virtio/virtio_defs.h"
#include "devices/virtio/vsock/unix_socket.h"
#include "base/check.h"
#include "base/errno_error.h"

namespace ember {
namespace {

using namespace vsock;  // NOLINT(google-build-using-namespace): the spec's names

// Device configuration layout (§5.10.4): struct virtio_vsock_config { le64 guest_cid; }.
constexpr size_t kConfigSize = 8;

constexpr uint32_t kMinBufAlloc = 4 * 1024;
constexpr uint32_t kMaxBufAlloc = 16 * 1024 * 1024;
constexpr uint32_t kMaxConnectionsLimit = 1u << 20;
constexpr std::chrono::milliseconds kMaxConnectTimeout{10 * 60 * 1000};
constexpr int kListenBacklog = 128;
// Host ports handed to host-initiated connections start here (as Firecracker's "OK 1073741824").
constexpr uint32_t kFirstLocalPort = 1u << 30;
constexpr uint32_t kMaxLoggedProblems = 16;

// What a saved vsock device holds (little-endian): magic "vsck", version, reserved, cid.
struct SavedVsockState {
  uint32_t magic;
  uint16_t version;
  uint16_t reserved;
  uint64_t guest_cid;
};
constexpr uint32_t kStateMagic = 0x6b637376;  // "vsck"
constexpr uint16_t kStateVersion = 1;

Result<void> check_cid(uint64_t cid) {
  if (cid < 3 || cid > 0xfffffffeull)
    return make_error("vsock guest_cid " + std::to_string(cid) +
                      " is reserved; a guest CID is 3 to 4294967294");
  return {};
}

}  // namespace

Result<void> VirtioVsock::check_config(const VirtioVsockConfig& config) {
  TRY(check_cid(config.guest_cid));
  if (config.uds_path.empty()) return make_error("vsock uds_path is empty");
  if (!fits_unix_path(config.uds_path))
    return make_error("vsock uds_path \"" + config.uds_path +
                      "\" is too long for a Unix socket path (107 bytes at most)");
  TRY(check_device_queue_size("vsock", config.queue_size));
  if (config.max_connections == 0 || config.max_connections > kMaxConnectionsLimit)
    return make_error("vsock max_connections " + std::to_string(config.max_connections) +
                      " is not between 1 and " + std::to_string(kMaxConnectionsLimit));
  if (config.connect_timeout.count() <= 0 || config.connect_timeout > kMaxConnectTimeout)
    return make_error("vsock connect timeout of " + std::to_string(config.connect_timeout.count()) +
                      " ms is not between 1 ms and 10 minutes");
  if (config.buf_alloc < kMinBufAlloc || config.buf_alloc > kMaxBufAlloc)
    return make_error("vsock buf_alloc " + std::to_string(config.buf_alloc) +
                      " is not between 4 KiB and 16 MiB");
  return {};
}

Result<std::unique_ptr<VirtioVsock>> VirtioVsock::create(const VirtioVsockConfig& config,
                                                         EventRegistrar& registrar) {
  TRY(check_config(config));
  const int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) return errno_error("vsock: timerfd_create");
  UniqueFd timer(tfd);
  ASSIGN_OR_RETURN(UniqueFd listener, listen_unix(config.uds_path, kListenBacklog));
  return std::unique_ptr<VirtioVsock>(
      new VirtioVsock(config, std::move(listener), std::move(timer), registrar));
}

VirtioVsock::VirtioVsock(const VirtioVsockConfig& config, UniqueFd listener, UniqueFd timer,
                         EventRegistrar& registrar)
    : VirtioDeviceBase(ProblemLog(kMaxLoggedProblems)),
      guest_cid_(config.guest_cid),
      uds_path_(config.uds_path),
      max_connections_(config.max_connections),
      connect_timeout_(config.connect_timeout),
      buf_alloc_(config.buf_alloc),
      queue_sizes_{config.queue_size, config.queue_size, config.queue_size},
      features_(virtio::feature_bit(virtio::kFeatureVersion1) |
                virtio::feature_bit(virtio::kFeatureEventIdx) |
                virtio::feature_bit(virtio::kFeatureIndirectDesc)),
      registrar_(registrar),
      listener_(std::move(listener)),
      timer_(std::move(timer)),
      next_local_port_(kFirstLocalPort) {
  struct stat st{};
  if (::lstat(uds_path_.c_str(), &st) == 0) {
    listener_dev_ = st.st_dev;
    listener_ino_ = st.st_ino;
  }
}

VirtioVsock::~VirtioVsock() {
  reset();
  listener_.reset();
  // Remove the socket file only if it is still the one bound here: someone may have replaced it.
  struct stat st{};
  if (listener_ino_ != 0 && ::lstat(uds_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      st.st_dev == listener_dev_ && st.st_ino == listener_ino_)
    ::unlink(uds_path_.c_str());
}

uint32_t VirtioVsock::device_type() const { return virtio::kDeviceIdVsock; }

void VirtioVsock::read_config(uint64_t offset, std::span<uint8_t> data) const {
  // §5.10.4: only the low 32 bits of guest_cid are used; the upper ones read as zero.
  const uint64_t cid = guest_cid_;
  uint8_t config[kConfigSize];
  std::memcpy(config, &cid, sizeof cid);
  read_config_space(config, offset, data);
}

void VirtioVsock::write_config(uint64_t offset, std::span<const uint8_t> /*data*/) {
  counters_.add(&VirtioVsockCounters::config_writes);
  log_problem("driver wrote the read-only config space at offset " + std::to_string(offset));
}

Result<void> VirtioVsock::activate(const GuestMemory& mem, uint64_t /*acked_features*/,
                                   std::span<VirtQueue> queues, VirtioInterrupt& interrupt) {
  if (queues.size() != 3)
    return make_error("virtio-vsock has three queues, got " + std::to_string(queues.size()));
  if (!queues[kRxQueue].ready()) return make_error("virtio-vsock's rx queue is not ready");
  if (!queues[kTxQueue].ready()) return make_error("virtio-vsock's tx queue is not ready");
  if (activation_.active()) reset();  // activated again without a reset: start clean
  // The event queue may stay unused: a transport reset then has nobody to tell.
  activation_.set(mem, queues, interrupt);
  auto timer = registrar_.watch(timer_.get(), EPOLLIN, kTimerEvent);
  if (!timer) {
    reset();
    return with_context("vsock: watching its timer", timer.error());
  }
  timer_watched_ = true;
  set_listener_watched(true);
  if (!listener_watched_) {
    reset();
    return make_error("vsock: cannot watch the listening socket " + uds_path_);
  }
  return {};
}

void VirtioVsock::reset() {
  close_all_connections();
  rst_queue_.clear();
  rx_list_.clear();
  starved_.clear();
  kept_rx_.reset();
  rx_starved_ = false;
  tx_blocked_ = false;
  transport_reset_pending_ = false;
  used_ = {};
  set_listener_watched(false);
  listener_paused_ = false;
  if (timer_watched_) registrar_.unwatch(timer_.get());
  timer_watched_ = false;
  const itimerspec off{};
  (void)::timerfd_settime(timer_.get(), 0, &off, nullptr);
  armed_ = {};
  activation_.clear();
}

Result<void> VirtioVsock::serve_queue(uint16_t index) {
  switch (index) {
    case kRxQueue: {
      counters_.add(&VirtioVsockCounters::rx_queue_notifications);
      // New rx buffers: owed packets first, then the sockets that stopped reading for want
      // of buffers may read again.
      rx_starved_ = false;
      TRY(finish_round());
      if (!rx_starved_) {
        std::vector<uint32_t> waiting;
        waiting.swap(starved_);
        for (uint32_t slot : waiting) {
          Connection* c = slots_[slot].get();
          if (c == nullptr) continue;
          c->starved = false;
          update_interest(*c);
        }
      }
      return {};
    }
    case kTxQueue:
      counters_.add(&VirtioVsockCounters::tx_queue_notifications);
      TRY(process_tx());
      return finish_round();
    case kEventQueue:
      if (transport_reset_pending_) TRY(deliver_transport_reset());
      return finish_round();
    default:
      return make_error("virtio-vsock has no queue " + std::to_string(index));
  }
}

Result<void> VirtioVsock::serve_event(uint32_t event_id) {
  if (event_id == kListenerEvent) {
    accept_host_connections();
  } else if (event_id == kTimerEvent) {
    uint64_t expirations = 0;
    // Clears the timerfd's readiness; EAGAIN (nothing expired) is fine.
    (void)!::read(timer_.get(), &expirations, sizeof expirations);
    expire_deadlines();
  } else if (event_id == kTransportResetEvent) {
    TRY(reset_transport());
  } else if (event_id >= kFirstConnectionEvent) {
    const uint64_t slot = uint64_t{event_id} - kFirstConnectionEvent;
    // A stale event for a connection closed since: nothing to do.
    if (slot < slots_.size() && slots_[slot] != nullptr) TRY(host_connection_event(*slots_[slot]));
  }
  return finish_round();
}

Result<void> VirtioVsock::finish_round() {
  TRY(flush_control());
  if (tx_blocked_ && rst_queue_.size() < kRstQueueSoftLimit) {
    TRY(process_tx());
    TRY(flush_control());
  }
  notify_used();
  return {};
}

void VirtioVsock::notify_used() {
  for (uint16_t q = 0; q < used_.size(); ++q) {
    activation_.notify_used(q, used_[q]);
    used_[q] = false;
  }
}

Result<void> VirtioVsock::send_transport_reset() {
  if (!activation_.active()) {
    close_all_connections();
    return {};
  }
  TRY(reset_transport());
  notify_used();
  return {};
}

Result<void> VirtioVsock::reset_transport() {
  // §5.10.6.7: the driver resets every socket on TRANSPORT_RESET, so no RSTs are sent.
  close_all_connections();
  rst_queue_.clear();
  transport_reset_pending_ = true;
  return deliver_transport_reset();
}

std::vector<uint8_t> VirtioVsock::save_device_state() const {
  SavedVsockState s{};
  s.magic = kStateMagic;
  s.version = kStateVersion;
  s.guest_cid = guest_cid_;
  std::vector<uint8_t> bytes(sizeof s);
  std::memcpy(bytes.data(), &s, sizeof s);
  return bytes;
}

Result<void> VirtioVsock::restore_device_state(std::span<const uint8_t> bytes) {
  SavedVsockState s{};
  if (bytes.size() != sizeof s)
    return make_error("virtio-vsock state is " + std::to_string(bytes.size()) +
                      " bytes, expected " + std::to_string(sizeof s));
  std::memcpy(&s, bytes.data(), sizeof s);
  if (s.magic != kStateMagic) return make_error("virtio-vsock state has a bad magic number");
  if (s.version != kStateVersion)
    return make_error("virtio-vsock state version " + std::to_string(s.version) +
                      " is not supported (expected " + std::to_string(kStateVersion) + ")");
  TRY(check_cid(s.guest_cid));
  // The guest read its CID before the snapshot and keeps using it.
  guest_cid_ = static_cast<uint32_t>(s.guest_cid);
  return {};
}

std::string VirtioVsock::problem_source() const { return "virtio-vsock " + uds_path_; }

}  // namespace ember
