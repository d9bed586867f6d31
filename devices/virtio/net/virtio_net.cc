#include "devices/virtio/net/virtio_net.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "devices/virtio/config_space.h"
#include "devices/virtio/net/tap.h"
#include "devices/virtio/net/virtio_net_defs.h"
#include "devices/virtio/queue_size.h"
#include "devices/virtio/virtio_defs.h"
#include "base/check.h"
#include "base/log.h"

namespace ember {
namespace {

using namespace virtio_net;  // NOLINT(google-build-using-namespace): the spec's names

// How many problems with guest input or the backend are logged before the log goes quiet.
constexpr uint32_t kMaxLoggedProblems = 8;
// No head: the largest queue has 32768 entries, so 0xffff is never one.
constexpr uint16_t kNoHead = 0xffff;

// The device-specific snapshot (save_device_state()). Fixed layout, no padding.
struct SavedNetState {
  uint32_t version;
  uint8_t has_mac;
  uint8_t mac[6];
  uint8_t has_mtu;
  uint16_t mtu;
  uint16_t rx_held_head;  // kNoHead: none
  uint16_t tx_held_head;
  uint8_t reserved[6];
  RateLimiter::State rx_limiter;
  RateLimiter::State tx_limiter;
};
static_assert(std::is_trivially_copyable_v<SavedNetState>);
static_assert(std::has_unique_object_representations_v<SavedNetState>, "no padding");
constexpr uint32_t kSavedNetStateVersion = 1;

// Visits the pieces of bytes [offset, offset + size) of a chain, whatever way the driver cut
// its buffers: visit(guest address, position in the range, length). Fails when the chain is
// shorter than offset + size.
template <typename Visit>
Result<void> for_each_piece(const DescriptorChain& chain, uint64_t offset, size_t size,
                            Visit visit) {
  size_t done = 0;
  for (const DescriptorBuffer& b : chain.buffers) {
    if (done == size) break;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(b.len - offset, size - done));
    TRY(visit(b.addr + offset, done, n));
    done += n;
    offset = 0;
  }
  if (done != size) return make_error("virtio-net: chain shorter than the bytes it should hold");
  return {};
}

// Writes `bytes` at byte `offset` of a chain's buffers.
Result<void> write_in_chain(const GuestMemory& mem, const DescriptorChain& chain, uint64_t offset,
                            std::span<const uint8_t> bytes) {
  return for_each_piece(chain, offset, bytes.size(), [&](GuestAddress at, size_t pos, size_t n) {
    return mem.write(at, bytes.subspan(pos, n));
  });
}

// Reads `out.size()` bytes from byte `offset` of a chain's buffers.
Result<void> read_from_chain(const GuestMemory& mem, const DescriptorChain& chain, uint64_t offset,
                             std::span<uint8_t> out) {
  return for_each_piece(chain, offset, out.size(), [&](GuestAddress at, size_t pos, size_t n) {
    return mem.read(at, out.subspan(pos, n));
  });
}

}  // namespace

Result<void> VirtioNet::check_config(const VirtioNetConfig& config) {
  TRY(check_device_queue_size("net", config.queue_size));
  if (config.mtu && *config.mtu < kMinMtu)
    return make_error("net mtu " + std::to_string(*config.mtu) + " is below the minimum of " +
                      std::to_string(kMinMtu));
  if (config.guest_mac) {
    // A multicast address is taken as given: Firecracker accepts one (its MacAddr checks only
    // the syntax), and clients that pass one through expect it in the device's config space.
    const NetMacAddress& mac = *config.guest_mac;
    if (mac == NetMacAddress{})
      return make_error("guest_mac 00:00:00:00:00:00 is not a usable address");
  }
  if (!config.host_dev_name.empty()) TRY(Tap::check_name(config.host_dev_name));
  return {};
}

Result<std::unique_ptr<VirtioNet>> VirtioNet::create(const VirtioNetConfig& config,
                                                     EventRegistrar& events) {
  TRY(check_config(config));
  ASSIGN_OR_RETURN(std::unique_ptr<Tap> tap, Tap::open(config.host_dev_name));
  return create_with_backend(config, std::move(tap), events);
}

Result<std::unique_ptr<VirtioNet>> VirtioNet::create_with_backend(
    const VirtioNetConfig& config, std::unique_ptr<NetBackend> backend, EventRegistrar& events,
    const MonotonicClock& clock) {
  TRY(check_config(config));
  CHECK_MSG(backend != nullptr, "VirtioNet needs a backend");
  auto rx = RateLimiter::create(config.rx_rate_limiter, clock);
  if (!rx) return with_context("rx rate limiter", rx.error());
  auto tx = RateLimiter::create(config.tx_rate_limiter, clock);
  if (!tx) return with_context("tx rate limiter", tx.error());
  auto net = std::make_unique<VirtioNet>(ConstructionKey(), config, std::move(backend), events,
                                         std::move(rx).value(), std::move(tx).value());
  TRY(net->watch_events());
  return net;
}

VirtioNet::VirtioNet(ConstructionKey, const VirtioNetConfig& config,
                     std::unique_ptr<NetBackend> backend, EventRegistrar& events,
                     std::unique_ptr<RateLimiter> rx_limiter,
                     std::unique_ptr<RateLimiter> tx_limiter)
    : VirtioDeviceBase(ProblemLog(kMaxLoggedProblems)),
      id_(config.id),
      backend_(std::move(backend)),
      events_(events),
      rx_limiter_(std::move(rx_limiter)),
      tx_limiter_(std::move(tx_limiter)),
      mac_(config.guest_mac),
      mtu_(config.mtu),
      queue_sizes_{config.queue_size, config.queue_size},
      rx_spill_(1) {
  using virtio::feature_bit;
  features_ = feature_bit(virtio::kFeatureVersion1) | feature_bit(virtio::kFeatureEventIdx) |
              feature_bit(virtio::kFeatureIndirectDesc) | feature_bit(kFeatureCsum) |
              feature_bit(kFeatureGuestCsum) | feature_bit(kFeatureGuestTso4) |
              feature_bit(kFeatureGuestTso6) | feature_bit(kFeatureGuestUfo) |
              feature_bit(kFeatureHostTso4) | feature_bit(kFeatureHostTso6) |
              feature_bit(kFeatureHostUfo) | feature_bit(kFeatureStatus);
  if (mac_) features_ |= feature_bit(kFeatureMac);
  if (mtu_) features_ |= feature_bit(kFeatureMtu);
}

VirtioNet::~VirtioNet() {
  for (const int fd : watched_fds_) events_.unwatch(fd);
}

Result<void> VirtioNet::watch_events() {
  // Edge-triggered backend: while the guest has no receive buffer the fd stays readable, and
  // a level-triggered watch would wake the VMM thread for nothing until it has.
  TRY(events_.watch(backend_->fd(), EPOLLIN | EPOLLET, kBackendEvent));
  watched_fds_.push_back(backend_->fd());
  TRY(events_.watch(rx_limiter_->timer_fd(), EPOLLIN, kRxRateLimiterEvent));
  watched_fds_.push_back(rx_limiter_->timer_fd());
  TRY(events_.watch(tx_limiter_->timer_fd(), EPOLLIN, kTxRateLimiterEvent));
  watched_fds_.push_back(tx_limiter_->timer_fd());
  return {};
}

uint32_t VirtioNet::device_type() const { return virtio::kDeviceIdNet; }

void VirtioNet::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::array<uint8_t, kConfigSize> config{};
  if (mac_) std::memcpy(&config[kConfigMac], mac_->data(), mac_->size());
  const uint16_t status = kStatusLinkUp;
  std::memcpy(&config[kConfigStatus], &status, sizeof status);
  const uint16_t pairs = 1;
  std::memcpy(&config[kConfigMaxQueuePairs], &pairs, sizeof pairs);
  const uint16_t mtu = mtu_.value_or(0);
  std::memcpy(&config[kConfigMtu], &mtu, sizeof mtu);
  read_config_space(config, offset, data);
}

void VirtioNet::write_config(uint64_t offset, std::span<const uint8_t> /*data*/) {
  // §5.1.4.2: the driver must not write these fields (the MAC only through the legacy
  // interface or VIRTIO_NET_F_CTRL_MAC_ADDR, neither offered).
  counters_.add(&VirtioNetCounters::config_writes);
  log_problem("driver wrote the read-only config space at offset " + std::to_string(offset));
}

Result<void> VirtioNet::activate(const GuestMemory& mem, uint64_t acked_features,
                                 std::span<VirtQueue> queues, VirtioInterrupt& interrupt) {
  if (queues.size() != 2)
    return make_error("virtio-net has two queues, got " + std::to_string(queues.size()));
  if (!queues[kRxQueue].ready() || !queues[kTxQueue].ready())
    return make_error("virtio-net needs both its receive and transmit queues ready");
  const GuestOffloads wanted{.csum = virtio::has_feature(acked_features, kFeatureGuestCsum),
                             .tso4 = virtio::has_feature(acked_features, kFeatureGuestTso4),
                             .tso6 = virtio::has_feature(acked_features, kFeatureGuestTso6),
                             .ufo = virtio::has_feature(acked_features, kFeatureGuestUfo)};
  // The backend must not hand the guest anything it did not accept: failing to say so is fatal.
  auto offloads = backend_->set_guest_offloads(wanted);
  if (!offloads) return with_context("virtio-net " + id_, offloads.error());
  backend_offloads_ = *offloads;
  if (!(backend_offloads_ == wanted))
    log_info("virtio-net " + id_ + ": " + backend_->description() +
             " does not take every offload the guest accepts; it gets fewer");

  activation_.set(mem, queues, interrupt);
  // An edge may have passed while inactive, and after a restore the driver may have left
  // buffers it will not notify about again: look at everything once.
  backend_readable_ = true;
  auto started = [&]() -> Result<void> {
    TRY(release_restored_heads());
    TRY(process_tx());
    return process_rx();
  }();
  if (!started) {
    reset();
    return started;
  }
  return {};
}

Result<void> VirtioNet::release_restored_heads() {
  // Chains the device held when the snapshot was taken: what they carried is lost (a frame
  // not yet sent, a receive buffer not yet filled), but the driver gets its buffers back.
  const std::pair<std::optional<uint16_t>*, VirtQueue*> held[] = {
      {&restored_rx_head_, &rx_queue()}, {&restored_tx_head_, &tx_queue()}};
  bool used[2] = {false, false};
  for (size_t i = 0; i < 2; ++i) {
    auto& [head, queue] = held[i];
    if (!*head) continue;
    const uint16_t h = **head;
    head->reset();
    if (h >= queue->size())
      return make_error("restored virtio-net state holds descriptor " + std::to_string(h) +
                        ", outside a queue of " + std::to_string(queue->size()));
    TRY(queue->add_used(h, 0));
    used[i] = true;
  }
  activation_.notify_used(kRxQueue, used[0]);
  activation_.notify_used(kTxQueue, used[1]);
  return {};
}

void VirtioNet::reset() {
  rx_limiter_->cancel_timer();
  tx_limiter_->cancel_timer();
  activation_.clear();
  backend_readable_ = true;
  rx_chain_held_ = false;
  rx_frame_waiting_ = false;
  tx_chain_held_ = false;
  restored_rx_head_.reset();
  restored_tx_head_.reset();
}

Result<void> VirtioNet::serve_queue(uint16_t index) {
  if (index == kRxQueue) {
    counters_.add(&VirtioNetCounters::rx_queue_notifications);
    return process_rx();  // the driver added receive buffers
  }
  if (index == kTxQueue) {
    counters_.add(&VirtioNetCounters::tx_queue_notifications);
    return process_tx();
  }
  return make_error("virtio-net has no queue " + std::to_string(index));
}

Result<void> VirtioNet::serve_event(uint32_t event_id) {
  switch (event_id) {
    case kBackendEvent:
      counters_.add(&VirtioNetCounters::backend_events);
      backend_readable_ = true;
      return process_rx();
    case kRxRateLimiterEvent:
      counters_.add(&VirtioNetCounters::rx_limiter_events);
      rx_limiter_->on_timer_event();
      return process_rx();
    case kTxRateLimiterEvent:
      counters_.add(&VirtioNetCounters::tx_limiter_events);
      tx_limiter_->on_timer_event();
      return process_tx();
    default:
      log_problem("unknown event id " + std::to_string(event_id));
      return {};
  }
}

Result<void> VirtioNet::build_iov(const DescriptorChain& chain) {
  iov_.clear();
  for (const DescriptorBuffer& b : chain.buffers) {
    ASSIGN_OR_RETURN(std::span<uint8_t> view, activation_.mem().slice(b.addr, b.len));
    iov_.push_back({view.data(), view.size()});
  }
  return {};
}

// ---- transmit (§5.1.6.2) ------------------------------------------------------------------

Result<void> VirtioNet::process_tx() {
  bool used = false;
  // At most one ring's worth per call, so a guest whose buffers overlap its own avail ring
  // cannot keep the VMM thread here for ever (see VirtioBlock::process_requests).
  for (uint32_t n = 0; n < tx_queue().size(); ++n) {
    if (!tx_chain_held_) {
      ASSIGN_OR_RETURN(const bool popped, tx_queue().pop(&tx_chain_));
      if (!popped) break;
      uint64_t length = 0;
      bool writable = false;
      for (const DescriptorBuffer& b : tx_chain_.buffers) {
        length += b.len;  // at most 2^32 in all (the queue checks)
        writable = writable || b.device_writable;
      }
      std::string problem;
      if (writable) {
        problem = "transmit chain has a device-writable buffer";
      } else if (length < kHeaderSize) {
        problem = "transmit chain of " + std::to_string(length) +
                  " bytes is shorter than the 12-byte header";
      } else if (length - kHeaderSize > kMaxFrameSize) {
        problem = "transmit frame of " + std::to_string(length - kHeaderSize) +
                  " bytes is longer than " + std::to_string(kMaxFrameSize);
      }
      if (!problem.empty()) {
        log_problem(problem + "; dropped");
        counters_.add(&VirtioNetCounters::tx_dropped);
        counters_.add(&VirtioNetCounters::tx_malformed);
        TRY(tx_queue().add_used(tx_chain_.head, 0));
        used = true;
        continue;
      }
      tx_chain_held_ = true;
      tx_chain_length_ = length;
      tx_throttled_ = false;
    }
    if (!tx_limiter_->consume_operation(tx_chain_length_)) {
      if (!tx_throttled_) counters_.add(&VirtioNetCounters::tx_rate_limited);
      tx_throttled_ = true;
      break;  // the limiter's timer event brings us back
    }
    TRY(transmit());
    used = true;
  }
  activation_.notify_used(kTxQueue, used);
  // What the detour answers goes to the guest now: nothing else would wake the receive path.
  if (detour_has_frame()) return process_rx();
  return {};
}

Result<bool> VirtioNet::detour_transmit() {
  if (!detour_) return false;
  const uint64_t frame_length = tx_chain_length_ - kHeaderSize;
  std::array<uint8_t, kHeaderSize + FrameDetour::kPeekBytes> head{};
  const size_t head_length =
      kHeaderSize + static_cast<size_t>(std::min<uint64_t>(frame_length, FrameDetour::kPeekBytes));
  TRY(read_from_chain(activation_.mem(), tx_chain_, 0, std::span(head).first(head_length)));
  if (!detour_->wants(std::span<const uint8_t>(head).subspan(kHeaderSize, head_length - kHeaderSize)))
    return false;
  // The whole frame is copied once, then handed over: the guest cannot change it under the
  // detour while it parses (a frame for the tap goes straight from guest memory, as before).
  detour_frame_.resize(static_cast<size_t>(frame_length));
  TRY(read_from_chain(activation_.mem(), tx_chain_, kHeaderSize, detour_frame_));
  detour_->take(detour_frame_, (head[0] & kHeaderFlagNeedsCsum) != 0);
  counters_.add(&VirtioNetCounters::tx_detoured);
  return true;
}

Result<void> VirtioNet::transmit() {
  ASSIGN_OR_RETURN(const bool detoured, detour_transmit());
  if (detoured) {
    tx_chain_held_ = false;
    return tx_queue().add_used(tx_chain_.head, 0);
  }
  TRY(build_iov(tx_chain_));
  const FrameIo io = backend_->write_frame(iov_);
  switch (io.status) {
    case FrameIo::Status::kDone:
      counters_.add(&VirtioNetCounters::tx_packets);
      counters_.add(&VirtioNetCounters::tx_bytes, tx_chain_length_ - kHeaderSize);
      break;
    case FrameIo::Status::kWouldBlock:
      // A tap queues in the host stack and hardly ever refuses; when it does, the frame is
      // lost like on a congested wire rather than stalling the queue.
      counters_.add(&VirtioNetCounters::tx_dropped);
      log_problem(backend_->description() + " has no room; frame dropped");
      break;
    case FrameIo::Status::kFailed:
      counters_.add(&VirtioNetCounters::tx_errors);
      log_problem(backend_->description() + " refused a " + std::to_string(tx_chain_length_) +
                  "-byte frame: " + std::strerror(io.error));
      break;
  }
  tx_chain_held_ = false;
  // Transmit buffers are only read: nothing written (§2.7.8).
  return tx_queue().add_used(tx_chain_.head, 0);
}

// ---- receive (§5.1.6.3, §5.1.6.4) ---------------------------------------------------------

Result<void> VirtioNet::process_rx() {
  bool used = false;
  auto r = [&]() -> Result<void> {
    if (rx_frame_waiting_) {
      if (!rx_limiter_->consume_operation(rx_frame_length_)) return {};
      TRY(deliver(rx_frame_length_, &used));
    }
    // At most one ring's worth of the detour's frames per call (it can always make more:
    // retransmissions), ahead of the backend's.
    for (uint32_t n = 0; n < rx_queue().size() && detour_has_frame(); ++n) {
      ASSIGN_OR_RETURN(const bool held, hold_rx_chain(&used));
      if (!held) return {};
      if (!rx_chain_held_) continue;  // that one was malformed; try the next
      TRY(receive_from_detour(&used));
    }
    while (backend_readable_) {
      ASSIGN_OR_RETURN(const bool go_on, receive_one(&used));
      if (!go_on) break;
    }
    return {};
  }();
  TRY(r);
  activation_.notify_used(kRxQueue, used);
  return {};
}

Result<bool> VirtioNet::hold_rx_chain(bool* used) {
  if (rx_chain_held_) return true;
  ASSIGN_OR_RETURN(const bool popped, rx_queue().pop(&rx_chain_));
  if (!popped) return false;
  uint64_t capacity = 0;
  bool readable = false;
  for (const DescriptorBuffer& b : rx_chain_.buffers) {
    capacity += b.len;
    readable = readable || !b.device_writable;
  }
  if (readable || capacity < kHeaderSize) {
    log_problem(readable ? std::string("receive chain has a device-readable buffer")
                         : "receive chain of " + std::to_string(capacity) +
                               " bytes cannot hold the 12-byte header");
    counters_.add(&VirtioNetCounters::rx_errors);
    TRY(rx_queue().add_used(rx_chain_.head, 0));
    *used = true;
    return true;  // rx_chain_held_ stays false
  }
  rx_chain_held_ = true;
  rx_chain_capacity_ = capacity;
  return true;
}

Result<void> VirtioNet::receive_from_detour(bool* used) {
  detour_frame_.resize(kHeaderSize + FrameDetour::kMaxFrameBytes);
  const size_t length = detour_->next_frame(std::span(detour_frame_).subspan(kHeaderSize));
  if (length == 0) return {};  // nothing after all: the chain stays held
  if (kHeaderSize + length > rx_chain_capacity_) {
    // A driver's buffers hold at least 1526 bytes (§5.1.6.3.1) unless it set a small MTU; the
    // detour's frame is lost like a tap frame that does not fit, and its sender retransmits.
    counters_.add(&VirtioNetCounters::rx_dropped);
    log_problem("a " + std::to_string(length) + "-byte frame of the interface's own service "
                "does not fit a receive chain of " + std::to_string(rx_chain_capacity_) + " bytes");
    return {};
  }
  // §5.1.6.4: a whole frame with its checksums done (flags 0, no GSO), in one chain.
  std::fill_n(detour_frame_.begin(), kHeaderSize, uint8_t{0});
  detour_frame_[kHeaderNumBuffersOffset] = 1;
  TRY(write_in_chain(activation_.mem(), rx_chain_, 0,
                     std::span<const uint8_t>(detour_frame_).first(kHeaderSize + length)));
  // The rate limiter meters the host's traffic; these frames are the VMM's own answers.
  return deliver(kHeaderSize + length, used);
}

Result<bool> VirtioNet::receive_one(bool* used) {
  // Reading a frame now would only park it in guest memory: wait for the timer instead.
  if (rx_limiter_->blocked()) return false;
  ASSIGN_OR_RETURN(const bool held, hold_rx_chain(used));
  // No buffer: leave the frames in the backend until the driver adds buffers, which it
  // notifies (process_queue(0)); backend_readable_ stays set so we go on from there.
  if (!held) return false;
  if (!rx_chain_held_) return true;  // a malformed chain went back; try the next

  TRY(build_iov(rx_chain_));
  iov_.push_back({rx_spill_.data(), rx_spill_.size()});
  const FrameIo io = backend_->read_frame(iov_);
  if (io.status == FrameIo::Status::kWouldBlock) {
    backend_readable_ = false;  // empty: the next edge brings us back
    return false;
  }
  if (io.status == FrameIo::Status::kFailed) {
    counters_.add(&VirtioNetCounters::rx_errors);
    counters_.add(&VirtioNetCounters::rx_read_errors);
    log_problem("reading " + backend_->description() + " failed: " + std::strerror(io.error));
    backend_readable_ = false;
    return false;
  }
  const uint64_t length = io.bytes;
  if (length == 0) {  // a closed socket backend; a tap never reads empty
    backend_readable_ = false;
    return false;
  }
  if (length < kHeaderSize || length > rx_chain_capacity_ ||
      length > std::numeric_limits<uint32_t>::max()) {
    counters_.add(&VirtioNetCounters::rx_dropped);
    log_problem(length < kHeaderSize
                    ? "backend frame of " + std::to_string(length) + " bytes has no full header"
                    : "frame longer than the guest's receive chain of " +
                          std::to_string(rx_chain_capacity_) + " bytes; dropped");
    return true;  // the chain stays held for the next frame
  }
  // §5.1.6.4: without VIRTIO_NET_F_MRG_RXBUF a frame uses one chain and num_buffers is 1. The
  // backend leaves those two bytes alone (a tap skips them).
  const uint16_t num_buffers = 1;
  TRY(write_in_chain(activation_.mem(), rx_chain_, kHeaderNumBuffersOffset,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&num_buffers),
                                              sizeof num_buffers)));
  if (!rx_limiter_->consume_operation(length)) {
    rx_frame_waiting_ = true;
    rx_frame_length_ = length;
    counters_.add(&VirtioNetCounters::rx_rate_limited);
    return false;
  }
  TRY(deliver(length, used));
  return true;
}

Result<void> VirtioNet::deliver(uint64_t frame_length, bool* used) {
  rx_chain_held_ = false;
  rx_frame_waiting_ = false;
  counters_.add(&VirtioNetCounters::rx_packets);
  counters_.add(&VirtioNetCounters::rx_bytes, frame_length - kHeaderSize);
  *used = true;
  return rx_queue().add_used(rx_chain_.head, static_cast<uint32_t>(frame_length));
}

// ---- rate limiters, logs ------------------------------------------------------------------

void VirtioNet::update_rate_limiters(const RateLimiterUpdate& rx, const RateLimiterUpdate& tx) {
  rx_limiter_->update(rx);
  tx_limiter_->update(tx);
}

std::string VirtioNet::problem_source() const { return "virtio-net " + id_; }

// ---- snapshots ----------------------------------------------------------------------------

std::vector<uint8_t> VirtioNet::save_device_state() const {
  SavedNetState s{};
  s.version = kSavedNetStateVersion;
  if (mac_) {
    s.has_mac = 1;
    std::memcpy(s.mac, mac_->data(), sizeof s.mac);
  }
  if (mtu_) {
    s.has_mtu = 1;
    s.mtu = *mtu_;
  }
  // Chains the device holds cannot be handed back from here (saving changes nothing); the
  // restored device returns them unused when it is activated again. A frame waiting in a
  // receive chain for the rate limiter is lost that way.
  s.rx_held_head = rx_chain_held_ ? rx_chain_.head : restored_rx_head_.value_or(kNoHead);
  s.tx_held_head = tx_chain_held_ ? tx_chain_.head : restored_tx_head_.value_or(kNoHead);
  s.rx_limiter = rx_limiter_->save_state();
  s.tx_limiter = tx_limiter_->save_state();
  std::vector<uint8_t> bytes(sizeof s);
  std::memcpy(bytes.data(), &s, sizeof s);
  return bytes;
}

Result<void> VirtioNet::restore_device_state(std::span<const uint8_t> bytes) {
  SavedNetState s{};
  if (bytes.size() != sizeof s)
    return make_error("virtio-net state is " + std::to_string(bytes.size()) +
                      " bytes, expected " + std::to_string(sizeof s));
  std::memcpy(&s, bytes.data(), sizeof s);
  if (s.version != kSavedNetStateVersion)
    return make_error("virtio-net state has version " + std::to_string(s.version) +
                      ", this ember reads version " + std::to_string(kSavedNetStateVersion));
  if (s.has_mac > 1 || s.has_mtu > 1) return make_error("virtio-net state has bad flags");
  // The features the device offers follow from these two; they cannot change under the guest.
  if ((s.has_mac == 1) != mac_.has_value())
    return make_error(std::string("virtio-net ") + id_ + ": the snapshot's interface " +
                      (s.has_mac ? "has" : "has no") + " guest MAC, this one " +
                      (mac_ ? "has one" : "has none"));
  if ((s.has_mtu == 1) != mtu_.has_value())
    return make_error(std::string("virtio-net ") + id_ + ": the snapshot's interface " +
                      (s.has_mtu ? "has" : "has no") + " MTU, this one " +
                      (mtu_ ? "has one" : "has none"));
  if (s.has_mtu && s.mtu < kMinMtu)
    return make_error("virtio-net state has mtu " + std::to_string(s.mtu));
  for (const uint16_t head : {s.rx_held_head, s.tx_held_head})
    if (head != kNoHead && head >= virtio::kMaxQueueSizeLimit)
      return make_error("virtio-net state holds descriptor " + std::to_string(head));

  // Both limiters or neither: put the first back if the second fails.
  const RateLimiter::State rx_before = rx_limiter_->save_state();
  auto rx = rx_limiter_->restore_state(s.rx_limiter);
  if (!rx) return with_context("virtio-net rx", rx.error());
  auto tx = tx_limiter_->restore_state(s.tx_limiter);
  if (!tx) {
    CHECK(rx_limiter_->restore_state(rx_before).ok());
    return with_context("virtio-net tx", tx.error());
  }
  // The guest already uses the MAC it read; the snapshot's is the one it knows.
  if (mac_) std::memcpy(mac_->data(), s.mac, sizeof s.mac);
  if (mtu_) mtu_ = s.mtu;
  restored_rx_head_.reset();
  restored_tx_head_.reset();
  if (s.rx_held_head != kNoHead) restored_rx_head_ = s.rx_held_head;
  if (s.tx_held_head != kNoHead) restored_tx_head_ = s.tx_held_head;
  return {};
}

}  // namespace ember
