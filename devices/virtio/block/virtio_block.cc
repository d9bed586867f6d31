#include "devices/virtio/block/virtio_block.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "devices/virtio/block/sync_engine.h"
#include "devices/virtio/block/uring_engine.h"
#include "devices/virtio/config_space.h"
#include "devices/virtio/queue_size.h"
#include "devices/virtio/virtio_defs.h"
#include "base/check.h"
#include "base/log.h"

namespace ember {
namespace {

using namespace virtio_blk;  // NOLINT(google-build-using-namespace): the spec's names

// Device configuration layout (§5.2.4, struct virtio_blk_config), up to the last field this
// device gives a meaning: capacity, size_max, seg_max, geometry, blk_size.
constexpr size_t kConfigCapacity = 0;   // le64, 512-byte sectors
constexpr size_t kConfigSegMax = 12;    // le32, with VIRTIO_BLK_F_SEG_MAX
constexpr size_t kConfigSize = 24;

// How many malformed requests are logged before the log goes quiet.
constexpr uint32_t kMaxLoggedProblems = 8;

// What a saved block device must match on restore: the disk behind it.
struct SavedBlockState {
  uint64_t capacity_sectors;
  uint8_t read_only;
  uint8_t has_limiter;  // 0 or 1
  uint8_t reserved[6];
  RateLimiter::State limiter;  // its budgets, so a restored drive does not start with full buckets
};
static_assert(std::is_trivially_copyable_v<SavedBlockState>);
static_assert(std::has_unique_object_representations_v<SavedBlockState>, "no padding");

}  // namespace

Result<void> VirtioBlock::check_config(const VirtioBlockConfig& config) {
  if (config.id.size() > kIdBytes)
    return make_error("block device id \"" + config.id + "\" is longer than 20 bytes");
  return check_device_queue_size("block", config.queue_size);
}

Result<std::unique_ptr<VirtioBlock>> VirtioBlock::create(const VirtioBlockConfig& config,
                                                         EventRegistrar* events,
                                                         const MonotonicClock& clock) {
  TRY(check_config(config));
  std::unique_ptr<RateLimiter> limiter;
  {
    auto created = RateLimiter::create(config.rate_limiter, clock);
    if (!created) return with_context("block rate limiter", created.error());
    limiter = std::move(created).value();
  }
  if (events == nullptr) {
    // Nobody could watch the limiter's timer, so a blocked request would wait for ever.
    if (!limiter->unlimited())
      return make_error("block device " + config.path +
                        ": a rate limiter needs an event registrar to watch its timer");
    limiter.reset();
  }
  ASSIGN_OR_RETURN(RawDiskFile disk, RawDiskFile::open(config.path, config.read_only));
  std::unique_ptr<BlockEngine> engine;
  if (config.engine == BlockEngineKind::kAsync) {
    auto uring = UringBlockEngine::create(disk.fd(), config.queue_size);
    if (!uring) return with_context("block device " + config.path, uring.error());
    engine = std::move(uring).value();
  } else {
    engine = std::make_unique<SyncBlockEngine>(disk.fd());
  }
  auto block = std::make_unique<VirtioBlock>(std::move(disk), std::move(engine), config.id,
                                             config.queue_size, std::move(limiter));
  if (block->limiter_ != nullptr) {
    TRY(events->watch(block->limiter_->timer_fd(), EPOLLIN, kRateLimiterEvent));
    block->events_ = events;
  }
  return block;
}

VirtioBlock::VirtioBlock(RawDiskFile disk, std::unique_ptr<BlockEngine> engine,
                         const std::string& id, uint16_t queue_size,
                         std::unique_ptr<RateLimiter> limiter)
    : VirtioDeviceBase(ProblemLog(kMaxLoggedProblems, "request problems")),
      disk_(std::move(disk)),
      engine_(std::move(engine)),
      limiter_(std::move(limiter)),
      read_only_(disk_.read_only()),
      disk_info_{disk_.capacity_sectors(), disk_.read_only()},
      queue_sizes_{queue_size} {
  CHECK_MSG(id.size() <= kIdBytes && valid_device_queue_size(queue_size),
            "VirtioBlock built from an unchecked config");
  std::memcpy(id_.data(), id.data(), id.size());

  features_ = virtio::feature_bit(virtio::kFeatureVersion1) |
              virtio::feature_bit(virtio::kFeatureEventIdx) |
              virtio::feature_bit(virtio::kFeatureIndirectDesc) |
              virtio::feature_bit(kFeatureFlush) | virtio::feature_bit(kFeatureSegMax);
  if (disk_info_.read_only) features_ |= virtio::feature_bit(kFeatureRo);

  config_space_.assign(kConfigSize, 0);
  const uint64_t capacity = disk_info_.capacity_sectors;
  std::memcpy(&config_space_[kConfigCapacity], &capacity, sizeof capacity);
  // Data segments per request: the queue size less the header and status descriptors.
  const uint32_t seg_max = std::max<uint32_t>(queue_size - 2u, 1u);
  std::memcpy(&config_space_[kConfigSegMax], &seg_max, sizeof seg_max);
}

VirtioBlock::~VirtioBlock() {
  if (events_ != nullptr) events_->unwatch(limiter_->timer_fd());
  // The engine's destructor waits for operations still writing into guest memory.
}

uint32_t VirtioBlock::device_type() const { return virtio::kDeviceIdBlock; }

void VirtioBlock::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::lock_guard<std::mutex> guard(lock_);
  read_config_space(config_space_, offset, data);
}

void VirtioBlock::write_config(uint64_t offset, std::span<const uint8_t> /*data*/) {
  std::lock_guard<std::mutex> guard(lock_);
  counters_.add(&VirtioBlockCounters::config_writes);
  // The only writable field, writeback, needs VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
  log_problem("driver wrote the read-only config space at offset " + std::to_string(offset));
}

Result<void> VirtioBlock::activate(const GuestMemory& mem, uint64_t /*acked_features*/,
                                   std::span<VirtQueue> queues, VirtioInterrupt& interrupt) {
  if (queues.size() != 1)
    return make_error("virtio-block has one queue, got " + std::to_string(queues.size()));
  if (!queues[0].ready()) return make_error("virtio-block's request queue is not ready");
  std::lock_guard<std::mutex> guard(lock_);
  activation_.set(mem, queues, interrupt);
  in_flight_.assign(queue().size(), InFlight{});
  return {};
}

void VirtioBlock::reset() {
  std::lock_guard<std::mutex> guard(lock_);
  // Operations still running write into guest memory the driver is about to reuse: wait for
  // them, then forget their completions (§2.4: the device forgets its requests on reset).
  engine_->drain();
  completions_.clear();
  engine_->take_completions(&completions_);
  completions_.clear();
  activation_.clear();
  in_flight_.clear();
  held_ = false;
  if (limiter_ != nullptr) limiter_->cancel_timer();
}

void VirtioBlock::quiesce() {
  std::lock_guard<std::mutex> guard(lock_);
  if (!activation_.active()) return;
  engine_->drain();
  bool used = false;
  auto done = complete_finished(&used);
  activation_.notify_used(0, used);
  if (!done) log_problem("while pausing for a snapshot: " + done.error().message);
  if (held_) {
    queue().undo_pop();
    held_ = false;
  }
}

Result<void> VirtioBlock::serve_queue(uint16_t index) {
  std::lock_guard<std::mutex> guard(lock_);
  if (index != 0) return make_error("virtio-block has no queue " + std::to_string(index));
  counters_.add(&VirtioBlockCounters::queue_notifications);
  bool used = false;
  TRY(process_requests(&used));
  activation_.notify_used(0, used);
  return {};
}

Result<void> VirtioBlock::serve_event(uint32_t event_id) {
  std::lock_guard<std::mutex> guard(lock_);
  bool used = false;
  switch (event_id) {
    case kCompletionEvent: TRY(complete_finished(&used)); break;
    case kRateLimiterEvent:
      if (limiter_ == nullptr) return {};
      counters_.add(&VirtioBlockCounters::limiter_events);
      limiter_->on_timer_event();
      TRY(process_requests(&used));
      break;
    default: return {};
  }
  activation_.notify_used(0, used);
  return {};
}

Result<void> VirtioBlock::process_requests(bool* used) {
  // At most one ring's worth per call: a conforming driver never has more pending, and a
  // hostile one that lays its rings over each other (so that our used-ring writes bump its
  // avail index) must not keep the VMM thread here for ever.
  for (uint32_t n = 0; n < queue().size(); ++n) {
    if (!held_) {
      ASSIGN_OR_RETURN(const bool popped, queue().pop(&chain_));
      if (!popped && n == 0) counters_.add(&VirtioBlockCounters::no_avail_buffer);
      if (!popped) break;
      parse_block_request(activation_.mem(), chain_, disk_info_, &request_);
    }
    if (!admit()) {
      // Keep it (FIFO: nothing overtakes it); the limiter's timer event brings us back.
      if (!held_) counters_.add(&VirtioBlockCounters::rate_limited);
      held_ = true;
      break;
    }
    held_ = false;
    TRY(handle_request(used));
    TRY(complete_finished(used));
  }
  return {};
}

bool VirtioBlock::admit() {
  // Malformed requests are answered at once, without touching the disk: nothing to limit.
  if (limiter_ == nullptr || request_.status != kStatusOk) return true;
  const bool moves_data = request_.type == kTypeIn || request_.type == kTypeOut;
  return limiter_->consume_operation(moves_data ? request_.data_len : 0);
}

Result<void> VirtioBlock::handle_request(bool* used) {
  const BlockRequest& r = request_;
  if (r.status != kStatusOk) {
    if (r.status == kStatusIoErr) counters_.add(&VirtioBlockCounters::invalid_requests);
    log_problem(r.problem);
    count_status(r.type, r.status, 0);
    *used = true;
    return finish(chain_.head, r.has_status, r.status_addr, r.status, 0);
  }
  switch (r.type) {
    case kTypeGetId: {
      // Up to 20 bytes of the NUL-padded id, as many as the driver's buffer holds.
      uint64_t written = 0;
      for (const auto& piece : r.data) {
        const uint64_t n = std::min<uint64_t>(piece.len, kIdBytes - written);
        if (n == 0) break;
        TRY(activation_.mem().write(piece.addr,
                                    std::span<const uint8_t>(id_.data() + written, n)));
        written += n;
      }
      count_status(kTypeGetId, kStatusOk, written);
      *used = true;
      return finish(chain_.head, true, r.status_addr, kStatusOk, written);
    }
    case kTypeFlush: return submit(BlockOp::kFlush, used);
    case kTypeIn: return submit(BlockOp::kRead, used);
    case kTypeOut: return submit(BlockOp::kWrite, used);
    default: return make_error("parser passed request type " + std::to_string(r.type));
  }
}

Result<void> VirtioBlock::submit(BlockOp op, bool* used) {
  const BlockRequest& r = request_;
  InFlight& slot = in_flight_[chain_.head];
  // A head is the driver's until the device returns it; offering it again before that is a
  // broken driver (§2.7.13: a descriptor is free again only once it is used).
  if (slot.busy)
    return make_error("descriptor " + std::to_string(chain_.head) +
                      " was made available again while its request is still running");
  slot.iov.clear();
  for (const auto& piece : r.data) {
    ASSIGN_OR_RETURN(auto view, activation_.mem().slice(piece.addr, piece.len));
    slot.iov.push_back({view.data(), view.size()});
  }
  slot.busy = true;
  slot.type = r.type;
  slot.status_addr = r.status_addr;
  slot.data_len = r.data_len;
  BlockIo io;
  io.op = op;
  io.offset = r.sector * kSectorSize;  // checked against the capacity: no overflow
  io.iov = slot.iov;
  io.user_data = chain_.head;
  auto started = engine_->submit(io);
  if (!started) {
    slot.busy = false;
    counters_.add(&VirtioBlockCounters::execute_errors);
    log_problem("block engine refused a request: " + started.error().message);
    count_status(r.type, kStatusIoErr, 0);
    *used = true;
    return finish(chain_.head, true, r.status_addr, kStatusIoErr, 0);
  }
  return {};
}

Result<void> VirtioBlock::complete_finished(bool* used) {
  completions_.clear();
  engine_->take_completions(&completions_);
  for (const BlockCompletion& c : completions_) {
    CHECK_MSG(c.user_data < in_flight_.size() && in_flight_[c.user_data].busy,
              "block engine completed an operation that is not in flight");
    InFlight& slot = in_flight_[c.user_data];
    slot.busy = false;
    const uint8_t status = c.result == 0 ? kStatusOk : kStatusIoErr;
    if (c.result != 0) {
      counters_.add(&VirtioBlockCounters::execute_errors);
      log_problem("block I/O on " + disk_.path() + " failed: " + std::strerror(-c.result));
    }
    count_status(slot.type, status, slot.data_len);
    const uint64_t written = slot.type == kTypeIn && status == kStatusOk ? slot.data_len : 0;
    TRY(finish(static_cast<uint16_t>(c.user_data), true, slot.status_addr, status, written));
    *used = true;
  }
  return {};
}

Result<void> VirtioBlock::finish(uint16_t head, bool has_status, GuestAddress status_addr,
                                 uint8_t status, uint64_t written) {
  uint64_t used_len = 0;
  if (has_status) {
    TRY(activation_.mem().write_obj(status_addr, status));
    used_len = written + 1;  // the data written plus the status byte (§2.7.8)
  }
  // len may underestimate (§2.7.8.2); the chain is at most 2^32 bytes, so clamp the one case.
  used_len = std::min<uint64_t>(used_len, std::numeric_limits<uint32_t>::max());
  return queue().add_used(head, static_cast<uint32_t>(used_len));
}

void VirtioBlock::count_status(uint32_t type, uint8_t status, uint64_t data_len) {
  using C = VirtioBlockCounters;
  if (status == kStatusIoErr) {
    counters_.add(&C::io_errors);
  } else if (status == kStatusUnsupp) {
    counters_.add(&C::unsupported);
  } else if (type == kTypeIn) {
    counters_.add(&C::read_requests);
    counters_.add(&C::read_bytes, data_len);
  } else if (type == kTypeOut) {
    counters_.add(&C::write_requests);
    counters_.add(&C::write_bytes, data_len);
  } else if (type == kTypeFlush) {
    counters_.add(&C::flush_requests);
  } else if (type == kTypeGetId) {
    counters_.add(&C::get_id_requests);
  }
}

std::string VirtioBlock::problem_source() const {
  // Under lock_ (log_problem()'s callers hold it): a backing file swap changes the path.
  return "virtio-block " + disk_.path();
}

uint64_t VirtioBlock::capacity_sectors() const {
  std::lock_guard<std::mutex> guard(lock_);
  return disk_info_.capacity_sectors;
}

std::string VirtioBlock::path() const {
  std::lock_guard<std::mutex> guard(lock_);
  return disk_.path();
}

Result<void> VirtioBlock::update_rate_limiter(const RateLimiterUpdate& update) {
  if (limiter_ == nullptr)
    return make_error("block device " + path() +
                      " has no rate limiter (it was created without an event registrar)");
  limiter_->update(update);
  return {};
}

std::optional<RateLimiterLimits> VirtioBlock::rate_limits() const {
  if (limiter_ == nullptr) return std::nullopt;
  return limiter_->limits();
}

Result<void> VirtioBlock::update_backing_file(const std::string& path) {
  std::lock_guard<std::mutex> guard(lock_);
  counters_.add(&VirtioBlockCounters::updates);
  auto opened = RawDiskFile::open(path, read_only_);
  if (!opened) counters_.add(&VirtioBlockCounters::update_errors);
  ASSIGN_OR_RETURN(RawDiskFile disk, std::move(opened));
  // Requests running on the old file finish there and go back to the driver first.
  engine_->drain();
  if (activation_.active()) {
    bool used = false;
    auto done = complete_finished(&used);
    activation_.notify_used(0, used);
    // The driver broke the queue; the next process_queue() meets the same problem and stops
    // the device through the transport. The swap itself is fine.
    if (!done) log_problem("while swapping the backing file: " + done.error().message);
  } else {
    completions_.clear();
    engine_->take_completions(&completions_);
    completions_.clear();
  }
  engine_->switch_file(disk.fd());
  const std::string old_path = disk_.path();
  disk_ = std::move(disk);  // closes the old file, which no operation uses any more
  disk_info_.capacity_sectors = disk_.capacity_sectors();
  const uint64_t capacity = disk_info_.capacity_sectors;
  std::memcpy(&config_space_[kConfigCapacity], &capacity, sizeof capacity);
  // A request held by the limiter was checked against the old size.
  if (held_) parse_block_request(activation_.mem(), chain_, disk_info_, &request_);
  log_info("virtio-block: backing file " + old_path + " replaced by " + disk_.path() + " (" +
           std::to_string(capacity) + " sectors)");
  // §5.2.2 / §2.3: the capacity may have changed; the driver re-reads the config space.
  if (activation_.active()) activation_.interrupt().signal_config_change();
  return {};
}

std::vector<uint8_t> VirtioBlock::save_device_state() const {
  std::lock_guard<std::mutex> guard(lock_);
  SavedBlockState s{};
  s.capacity_sectors = disk_info_.capacity_sectors;
  s.read_only = disk_info_.read_only ? 1 : 0;
  if (limiter_ != nullptr) {
    s.has_limiter = 1;
    s.limiter = limiter_->save_state();
  }
  std::vector<uint8_t> bytes(sizeof s);
  std::memcpy(bytes.data(), &s, sizeof s);
  return bytes;
}

Result<void> VirtioBlock::restore_device_state(std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> guard(lock_);
  SavedBlockState s{};
  if (bytes.size() != sizeof s)
    return make_error("virtio-block state is " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(sizeof s));
  std::memcpy(&s, bytes.data(), sizeof s);
  // The guest's view of the disk must not change under it across a snapshot.
  if (s.capacity_sectors != disk_info_.capacity_sectors)
    return make_error("disk " + disk_.path() + " has " +
                      std::to_string(disk_info_.capacity_sectors) +
                      " sectors, the snapshot was taken with " +
                      std::to_string(s.capacity_sectors));
  if (s.read_only != (disk_info_.read_only ? 1 : 0))
    return make_error("disk " + disk_.path() + " read-only setting differs from the snapshot's");
  if (s.has_limiter > 1) return make_error("virtio-block state has a bad rate limiter flag");
  if (s.has_limiter == 1 && limiter_ != nullptr) TRY(limiter_->restore_state(s.limiter));
  return {};
}

}  // namespace ember
