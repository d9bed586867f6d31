#include "devices/virtio/block/virtio_block.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "devices/virtio/block/sync_engine.h"
#include "devices/virtio/virtio_defs.h"
#include "vmm/util/check.h"
#include "vmm/util/log.h"

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

bool is_power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// What a saved block device must match on restore: the disk behind it.
struct SavedBlockState {
  uint64_t capacity_sectors;
  uint8_t read_only;
  uint8_t reserved[7];
};

}  // namespace

Result<void> VirtioBlock::check_config(const VirtioBlockConfig& config) {
  if (config.id.size() > kIdBytes)
    return make_error("block device id \"" + config.id + "\" is longer than 20 bytes");
  if (!is_power_of_two(config.queue_size) || config.queue_size < 2 ||
      config.queue_size > virtio::kMaxQueueSizeLimit)
    return make_error("block queue size " + std::to_string(config.queue_size) +
                      " is not a power of two between 2 and 32768");
  return {};
}

Result<std::unique_ptr<VirtioBlock>> VirtioBlock::create(const VirtioBlockConfig& config) {
  TRY(check_config(config));
  ASSIGN_OR_RETURN(RawDiskFile disk, RawDiskFile::open(config.path, config.read_only));
  auto engine = std::make_unique<SyncBlockEngine>(disk.fd());
  return std::make_unique<VirtioBlock>(std::move(disk), std::move(engine), config.id,
                                       config.queue_size);
}

VirtioBlock::VirtioBlock(RawDiskFile disk, std::unique_ptr<BlockEngine> engine,
                         const std::string& id, uint16_t queue_size)
    : disk_(std::move(disk)),
      engine_(std::move(engine)),
      disk_info_{disk_.capacity_sectors(), disk_.read_only()},
      queue_sizes_{queue_size} {
  CHECK_MSG(id.size() <= kIdBytes && is_power_of_two(queue_size) && queue_size >= 2,
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

VirtioBlock::~VirtioBlock() = default;

uint32_t VirtioBlock::device_type() const { return virtio::kDeviceIdBlock; }

void VirtioBlock::read_config(uint64_t offset, std::span<uint8_t> data) const {
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = offset + i;
    data[i] = at >= offset && at < config_space_.size() ? config_space_[at] : 0;
  }
}

void VirtioBlock::write_config(uint64_t offset, std::span<const uint8_t> /*data*/) {
  // The only writable field, writeback, needs VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
  log_problem("driver wrote the read-only config space at offset " + std::to_string(offset));
}

Result<void> VirtioBlock::activate(const GuestMemory& mem, uint64_t /*acked_features*/,
                                   std::span<VirtQueue> queues, VirtioInterrupt& interrupt) {
  if (queues.size() != 1)
    return make_error("virtio-block has one queue, got " + std::to_string(queues.size()));
  if (!queues[0].ready()) return make_error("virtio-block's request queue is not ready");
  mem_ = &mem;
  queue_ = &queues[0];
  interrupt_ = &interrupt;
  in_flight_.assign(queue_->size(), InFlight{});
  return {};
}

void VirtioBlock::reset() {
  // With an asynchronous engine, operations still running would have to be waited for here
  // before guest memory can be reused; the synchronous engine never leaves any.
  completions_.clear();
  engine_->take_completions(&completions_);
  completions_.clear();
  mem_ = nullptr;
  queue_ = nullptr;
  interrupt_ = nullptr;
  in_flight_.clear();
}

Result<void> VirtioBlock::process_queue(uint16_t index) {
  if (queue_ == nullptr) return {};
  if (index != 0) return make_error("virtio-block has no queue " + std::to_string(index));
  bool used = false;
  for (;;) {
    ASSIGN_OR_RETURN(const bool popped, queue_->pop(&chain_));
    if (!popped) break;
    TRY(handle_request(&used));
    TRY(complete_finished(&used));
  }
  notify_if_needed(used);
  return {};
}

Result<void> VirtioBlock::process_event(uint32_t event_id) {
  if (queue_ == nullptr || event_id != kCompletionEvent) return {};
  bool used = false;
  TRY(complete_finished(&used));
  notify_if_needed(used);
  return {};
}

void VirtioBlock::notify_if_needed(bool used) {
  if (used && queue_->needs_notification()) interrupt_->signal_used_queue(0);
}

Result<void> VirtioBlock::handle_request(bool* used) {
  parse_block_request(*mem_, chain_, disk_info_, &request_);
  const BlockRequest& r = request_;
  if (r.status != kStatusOk) {
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
        TRY(mem_->write(piece.addr, std::span<const uint8_t>(id_.data() + written, n)));
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
    ASSIGN_OR_RETURN(auto view, mem_->slice(piece.addr, piece.len));
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
    if (c.result != 0)
      log_problem("block I/O on " + disk_.path() + " failed: " + std::strerror(-c.result));
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
    TRY(mem_->write_obj(status_addr, status));
    used_len = written + 1;  // the data written plus the status byte (§2.7.8)
  }
  // len may underestimate (§2.7.8.2); the chain is at most 2^32 bytes, so clamp the one case.
  used_len = std::min<uint64_t>(used_len, std::numeric_limits<uint32_t>::max());
  return queue_->add_used(head, static_cast<uint32_t>(used_len));
}

void VirtioBlock::count_status(uint32_t type, uint8_t status, uint64_t data_len) {
  auto& c = counters_;
  if (status == kStatusIoErr) {
    c.io_errors.fetch_add(1, std::memory_order_relaxed);
  } else if (status == kStatusUnsupp) {
    c.unsupported.fetch_add(1, std::memory_order_relaxed);
  } else if (type == kTypeIn) {
    c.read_requests.fetch_add(1, std::memory_order_relaxed);
    c.read_bytes.fetch_add(data_len, std::memory_order_relaxed);
  } else if (type == kTypeOut) {
    c.write_requests.fetch_add(1, std::memory_order_relaxed);
    c.write_bytes.fetch_add(data_len, std::memory_order_relaxed);
  } else if (type == kTypeFlush) {
    c.flush_requests.fetch_add(1, std::memory_order_relaxed);
  } else if (type == kTypeGetId) {
    c.get_id_requests.fetch_add(1, std::memory_order_relaxed);
  }
}

VirtioBlockCounters VirtioBlock::counters() const {
  const auto& c = counters_;
  VirtioBlockCounters out;
  out.read_requests = c.read_requests.load(std::memory_order_relaxed);
  out.write_requests = c.write_requests.load(std::memory_order_relaxed);
  out.flush_requests = c.flush_requests.load(std::memory_order_relaxed);
  out.get_id_requests = c.get_id_requests.load(std::memory_order_relaxed);
  out.read_bytes = c.read_bytes.load(std::memory_order_relaxed);
  out.write_bytes = c.write_bytes.load(std::memory_order_relaxed);
  out.io_errors = c.io_errors.load(std::memory_order_relaxed);
  out.unsupported = c.unsupported.load(std::memory_order_relaxed);
  return out;
}

void VirtioBlock::log_problem(const std::string& problem) {
  if (problems_logged_ > kMaxLoggedProblems) return;
  ++problems_logged_;
  if (problems_logged_ > kMaxLoggedProblems) {
    log_warn("virtio-block " + disk_.path() + ": more request problems; not logging them");
    return;
  }
  log_warn("virtio-block " + disk_.path() + ": " + problem);
}

std::vector<uint8_t> VirtioBlock::save_device_state() const {
  SavedBlockState s{};
  s.capacity_sectors = disk_info_.capacity_sectors;
  s.read_only = disk_info_.read_only ? 1 : 0;
  std::vector<uint8_t> bytes(sizeof s);
  std::memcpy(bytes.data(), &s, sizeof s);
  return bytes;
}

Result<void> VirtioBlock::restore_device_state(std::span<const uint8_t> bytes) {
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
  return {};
}

}  // namespace ember
