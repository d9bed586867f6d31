#include "devices/virtio/mmio_transport.h"

#include <cstring>
#include <string>
#include <utility>

#include "base/hex.h"
#include "devices/virtio/virtio_defs.h"
#include "base/check.h"
#include "base/log.h"

namespace ember {
namespace {

using virtio::feature_bit;
using virtio::has_feature;

// Register offsets (§4.2.2, table "MMIO Device Register Layout").
constexpr uint64_t kMagicValue = 0x000;
constexpr uint64_t kVersion = 0x004;
constexpr uint64_t kDeviceId = 0x008;
constexpr uint64_t kVendorId = 0x00c;
constexpr uint64_t kDeviceFeatures = 0x010;
constexpr uint64_t kDeviceFeaturesSel = 0x014;
constexpr uint64_t kDriverFeatures = 0x020;
constexpr uint64_t kDriverFeaturesSel = 0x024;
constexpr uint64_t kQueueSel = 0x030;
constexpr uint64_t kQueueNumMax = 0x034;
constexpr uint64_t kQueueNum = 0x038;
constexpr uint64_t kQueueReady = 0x044;
constexpr uint64_t kQueueNotify = VirtioMmioTransport::kQueueNotifyOffset;
constexpr uint64_t kInterruptStatus = 0x060;
constexpr uint64_t kInterruptAck = 0x064;
constexpr uint64_t kStatus = 0x070;
constexpr uint64_t kQueueDescLow = 0x080;
constexpr uint64_t kQueueDescHigh = 0x084;
constexpr uint64_t kQueueDriverLow = 0x090;
constexpr uint64_t kQueueDriverHigh = 0x094;
constexpr uint64_t kQueueDeviceLow = 0x0a0;
constexpr uint64_t kQueueDeviceHigh = 0x0a4;
constexpr uint64_t kShmSel = 0x0ac;
constexpr uint64_t kShmLenLow = 0x0b0;
constexpr uint64_t kShmLenHigh = 0x0b4;
constexpr uint64_t kShmBaseLow = 0x0b8;
constexpr uint64_t kShmBaseHigh = 0x0bc;
constexpr uint64_t kQueueReset = 0x0c0;
constexpr uint64_t kConfigGeneration = 0x0fc;
constexpr uint64_t kConfigSpace = 0x100;

constexpr uint32_t kMagic = 0x74726976;  // "virt" read as a little-endian word
constexpr uint32_t kMmioVersion = 2;     // version 1 is the legacy interface (§4.2.4)
constexpr uint32_t kVendor = 0;          // drivers do not look at it

using virtio::kStatusAcknowledge;
using virtio::kStatusDeviceNeedsReset;
using virtio::kStatusDriver;
using virtio::kStatusDriverOk;
using virtio::kStatusFailed;
using virtio::kStatusFeaturesOk;

// The status values a driver steps through, in order (§3.1.1 steps 1-8). Any other
// combination of the driver-owned bits (FAILED aside) is not a state the device accepts.
constexpr uint32_t kStatusSequence[] = {
    0,
    kStatusAcknowledge,
    kStatusAcknowledge | kStatusDriver,
    kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk,
    kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk,
};

bool is_status_in_sequence(uint32_t status) {
  for (uint32_t s : kStatusSequence)
    if (s == status) return true;
  return false;
}

void set_low(uint64_t& field, uint32_t v) { field = (field & ~uint64_t{0xffffffff}) | v; }
void set_high(uint64_t& field, uint32_t v) {
  field = (field & uint64_t{0xffffffff}) | (uint64_t{v} << 32);
}

}  // namespace

// The device's way to interrupt the guest: set an InterruptStatus bit, then pulse the line
// (§4.2.3.4: the one interrupt stands for whatever InterruptStatus bits are set, so the bit
// must be visible before the guest's handler runs).
class VirtioMmioTransport::Interrupt final : public VirtioInterrupt {
 public:
  explicit Interrupt(VirtioMmioTransport& transport) : t_(transport) {}
  void signal_used_queue(uint16_t /*index*/) override {
    t_.interrupt_status_.fetch_or(kInterruptUsedBuffer);
    t_.irq_->trigger();
  }
  void signal_config_change() override {
    // The config space changed, so the generation must too (§4.2.2.1).
    t_.config_generation_.fetch_add(1);
    t_.interrupt_status_.fetch_or(kInterruptConfigChange);
    t_.irq_->trigger();
  }

 private:
  VirtioMmioTransport& t_;
};

VirtioMmioTransport::VirtioMmioTransport(std::shared_ptr<VirtioDevice> device,
                                         const GuestMemory& mem, std::shared_ptr<IrqLine> irq)
    : device_(std::move(device)),
      mem_(mem),
      irq_(std::move(irq)),
      offered_features_(device_->device_features()),
      interrupt_(std::make_unique<Interrupt>(*this)) {
  CHECK_MSG(has_feature(offered_features_, virtio::kFeatureVersion1),
            "a virtio-mmio version 2 device must offer VIRTIO_F_VERSION_1");
  for (uint16_t max : device_->queue_max_sizes()) queues_.emplace_back(max);
}

VirtioMmioTransport::~VirtioMmioTransport() {
  std::lock_guard<std::mutex> guard(lock_);
  if (active_) device_->reset();
}

void VirtioMmioTransport::log_once(Oddity kind, const std::string& message) {
  const auto bit = static_cast<uint32_t>(kind);
  if (logged_ & bit) return;
  logged_ |= bit;
  log_warn("virtio-mmio (device type " + std::to_string(device_->device_type()) + "): " + message +
           " (further ones not logged)");
}

void VirtioMmioTransport::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard<std::mutex> guard(lock_);
  if (offset >= kConfigSpace) {
    device_->read_config(offset - kConfigSpace, data);
    return;
  }
  std::memset(data.data(), 0, data.size());
  if (data.size() != 4 || offset % 4 != 0) {
    log_once(Oddity::kBadRegisterAccess, std::to_string(data.size()) + "-byte read at register " +
                                             to_hex(offset) + "; registers are 32-bit aligned");
    return;
  }
  const uint32_t value = read_register(offset);
  std::memcpy(data.data(), &value, sizeof value);
}

void VirtioMmioTransport::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard<std::mutex> guard(lock_);
  if (offset >= kConfigSpace) {
    device_->write_config(offset - kConfigSpace, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    log_once(Oddity::kBadRegisterAccess, std::to_string(data.size()) + "-byte write at register " +
                                             to_hex(offset) + "; registers are 32-bit aligned");
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), sizeof value);
  write_register(offset, value);
}

VirtQueue* VirtioMmioTransport::selected_queue() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

uint32_t VirtioMmioTransport::read_register(uint64_t offset) {
  switch (offset) {
    case kMagicValue: return kMagic;
    case kVersion: return kMmioVersion;
    case kDeviceId: return device_->device_type();
    case kVendorId: return kVendor;
    case kDeviceFeatures:
      if (device_features_sel_ == 0) return static_cast<uint32_t>(offered_features_);
      if (device_features_sel_ == 1) return static_cast<uint32_t>(offered_features_ >> 32);
      return 0;
    case kQueueNumMax: {
      const VirtQueue* q = selected_queue();
      return q != nullptr ? q->max_size() : 0;  // 0: no such queue (§4.2.2)
    }
    case kQueueReady: {
      const VirtQueue* q = selected_queue();
      return q != nullptr && q->ready() ? 1 : 0;
    }
    case kInterruptStatus: return interrupt_status_.load();
    case kStatus: return status_;
    // No shared memory regions: a non-existent region reads as length and base all-ones.
    case kShmLenLow:
    case kShmLenHigh:
    case kShmBaseLow:
    case kShmBaseHigh: return 0xffffffff;
    case kQueueReset: return 0;  // VIRTIO_F_RING_RESET is not offered
    case kConfigGeneration: return config_generation_.load();
    default: return 0;  // write-only or reserved
  }
}

void VirtioMmioTransport::write_register(uint64_t offset, uint32_t value) {
  switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = value; return;
    case kDriverFeaturesSel: driver_features_sel_ = value; return;
    case kDriverFeatures:
      // Features are negotiated between DRIVER and FEATURES_OK (§3.1.1 steps 4-5).
      if ((status_ & (kStatusDriver | kStatusFeaturesOk | kStatusFailed)) != kStatusDriver) {
        log_once(Oddity::kDriverFeaturesLocked,
                 "driver features written outside feature negotiation (status " +
                     to_hex(status_) + ")");
        return;
      }
      if (driver_features_sel_ == 0) {
        set_low(acked_features_, value);
      } else if (driver_features_sel_ == 1) {
        set_high(acked_features_, value);
      } else if (value != 0) {
        acked_unknown_features_ = true;  // no feature above bit 63 is ever offered
      }
      return;
    case kQueueSel: queue_sel_ = value; return;
    case kQueueNum:
    case kQueueReady:
    case kQueueDescLow:
    case kQueueDescHigh:
    case kQueueDriverLow:
    case kQueueDriverHigh:
    case kQueueDeviceLow:
    case kQueueDeviceHigh: write_queue_register(offset, value); return;
    case kQueueNotify: process_queue_locked(value); return;
    case kInterruptAck: interrupt_status_.fetch_and(~value); return;
    case kStatus: write_status(value); return;
    case kShmSel: shm_sel_ = value; return;
    case kQueueReset: return;  // VIRTIO_F_RING_RESET is not offered
    default:
      log_once(Oddity::kReadOnlyRegisterWrite,
               "write of " + to_hex(value) + " to read-only or reserved register " + to_hex(offset));
      return;
  }
}

void VirtioMmioTransport::write_queue_register(uint64_t offset, uint32_t value) {
  VirtQueue* q = selected_queue();
  if (q == nullptr) {
    log_once(Oddity::kQueueRegisterLocked,
             "queue register " + to_hex(offset) + " written for missing queue " +
                 std::to_string(queue_sel_));
    return;
  }
  // Stopping a queue is always allowed (§4.2.2.2: the driver writes 0 to QueueReady).
  if (offset == kQueueReady && value == 0) {
    q->set_ready(false);
    return;
  }
  // Queues are set up after FEATURES_OK and before DRIVER_OK (§3.1.1 step 7), and a ready
  // queue's registers are off limits (§4.2.2.2).
  const bool setup_phase = (status_ & (kStatusFeaturesOk | kStatusDriverOk | kStatusFailed)) ==
                           kStatusFeaturesOk;
  if (!setup_phase || q->ready()) {
    log_once(Oddity::kQueueRegisterLocked,
             "queue " + std::to_string(queue_sel_) + " register " + to_hex(offset) +
                 " written while the queue is ready or outside queue setup (status " +
                 to_hex(status_) + ")");
    return;
  }
  switch (offset) {
    case kQueueNum:
      // Checked against QueueNumMax and for a power of two when the device is activated.
      q->set_size(static_cast<uint16_t>(value > 0xffff ? 0 : value));
      return;
    case kQueueReady: q->set_ready(true); return;
    case kQueueDescLow: { uint64_t a = q->desc_table(); set_low(a, value); q->set_desc_table(a); return; }
    case kQueueDescHigh: { uint64_t a = q->desc_table(); set_high(a, value); q->set_desc_table(a); return; }
    case kQueueDriverLow: { uint64_t a = q->avail_ring(); set_low(a, value); q->set_avail_ring(a); return; }
    case kQueueDriverHigh: { uint64_t a = q->avail_ring(); set_high(a, value); q->set_avail_ring(a); return; }
    case kQueueDeviceLow: { uint64_t a = q->used_ring(); set_low(a, value); q->set_used_ring(a); return; }
    case kQueueDeviceHigh: { uint64_t a = q->used_ring(); set_high(a, value); q->set_used_ring(a); return; }
    default: return;
  }
}

bool VirtioMmioTransport::features_acceptable() {
  // §2.2.2 and §3.1.1 step 6: a device that cannot work with the driver's feature subset
  // leaves FEATURES_OK clear, and the driver reads that back.
  if (acked_unknown_features_) {
    log_once(Oddity::kFeaturesRejected, "driver accepted feature bits above 63, none offered");
    return false;
  }
  if ((acked_features_ & ~offered_features_) != 0) {
    log_once(Oddity::kFeaturesRejected,
             "driver accepted features the device does not offer (" +
                 to_hex(acked_features_ & ~offered_features_) + ")");
    return false;
  }
  if (!has_feature(acked_features_, virtio::kFeatureVersion1)) {
    log_once(Oddity::kFeaturesRejected,
             "driver did not accept VIRTIO_F_VERSION_1 (a legacy driver?)");
    return false;
  }
  return true;
}

void VirtioMmioTransport::write_status(uint32_t value) {
  if (value == 0) {  // §4.2.2: writing zero to Status resets the device
    reset_locked();
    return;
  }
  // DEVICE_NEEDS_RESET belongs to the device; a driver that writes back what it read
  // carries it along, which changes nothing.
  const uint32_t current = status_ & ~kStatusDeviceNeedsReset;
  const uint32_t requested = value & ~kStatusDeviceNeedsReset;
  if (requested == current) return;
  if ((current & ~requested) != 0) {
    log_once(Oddity::kBadStatusTransition, "status " + to_hex(current) + " -> " +
                                               to_hex(requested) +
                                               " clears bits without a reset");
    return;
  }
  if (requested & kStatusFailed) {  // §2.1: the driver gave up; only a reset helps now
    status_ |= kStatusFailed;
    return;
  }
  if ((current & kStatusFailed) || !is_status_in_sequence(requested)) {
    log_once(Oddity::kBadStatusTransition,
             "status " + to_hex(current) + " -> " + to_hex(requested) +
                 " is not a step of device initialisation");
    return;
  }
  const uint32_t added = requested & ~current;
  if ((added & kStatusFeaturesOk) && !features_acceptable()) return;
  status_ = requested | (status_ & kStatusDeviceNeedsReset);
  if ((added & kStatusDriverOk) && !(status_ & kStatusDeviceNeedsReset)) {
    auto activated = activate_locked();
    if (!activated) fail_device(activated.error());
  }
}

Result<void> VirtioMmioTransport::activate_locked() {
  const bool event_idx = has_feature(acked_features_, virtio::kFeatureEventIdx);
  const bool indirect = has_feature(acked_features_, virtio::kFeatureIndirectDesc);
  for (size_t i = 0; i < queues_.size(); ++i) {
    VirtQueue& q = queues_[i];
    q.set_negotiated(event_idx, indirect);
    if (!q.ready()) continue;
    auto r = q.activate(mem_);
    if (!r) return with_context("queue " + std::to_string(i), r.error());
  }
  TRY(device_->activate(mem_, acked_features_, queues_, *interrupt_));
  active_ = true;
  return {};
}

void VirtioMmioTransport::fail_device(const Error& error) {
  log_error("virtio-mmio (device type " + std::to_string(device_->device_type()) +
            "): device needs reset: " + error.message);
  device_->reset();  // also undoes a half-done activation
  active_ = false;
  // §2.1.2: set DEVICE_NEEDS_RESET; once DRIVER_OK is set the driver must also get a
  // configuration change notification.
  status_ |= kStatusDeviceNeedsReset;
  if (status_ & kStatusDriverOk) {
    interrupt_status_.fetch_or(kInterruptConfigChange);
    irq_->trigger();
  }
}

void VirtioMmioTransport::process_queue_locked(uint32_t index) {
  // §2.1.2: no buffers are consumed before DRIVER_OK (nor after the device failed).
  if (!active_) return;
  if (index >= queues_.size()) {
    log_once(Oddity::kBadQueueNotify, "notification for missing queue " + std::to_string(index));
    return;
  }
  auto r = device_->process_queue(static_cast<uint16_t>(index));
  if (!r) fail_device(with_context("queue " + std::to_string(index), r.error()));
}

void VirtioMmioTransport::quiesce() {
  std::lock_guard<std::mutex> guard(lock_);
  if (active_) device_->quiesce();
}

void VirtioMmioTransport::notify_queue(uint32_t index) {
  std::lock_guard<std::mutex> guard(lock_);
  process_queue_locked(index);
}

void VirtioMmioTransport::process_device_event(uint32_t event_id) {
  std::lock_guard<std::mutex> guard(lock_);
  if (!active_) return;
  auto r = device_->process_event(event_id);
  if (!r) fail_device(with_context("device event " + std::to_string(event_id), r.error()));
}

void VirtioMmioTransport::reset_locked() {
  // §4.2.2.1: reset clears InterruptStatus and every queue's ready bit; §2.4: the device
  // returns to its initial state.
  device_->reset();
  active_ = false;
  for (auto& q : queues_) q.reset();
  status_ = 0;
  acked_features_ = 0;
  acked_unknown_features_ = false;
  device_features_sel_ = driver_features_sel_ = queue_sel_ = shm_sel_ = 0;
  interrupt_status_.store(0);
}

uint32_t VirtioMmioTransport::status() const {
  std::lock_guard<std::mutex> guard(lock_);
  return status_;
}

bool VirtioMmioTransport::device_active() const {
  std::lock_guard<std::mutex> guard(lock_);
  return active_;
}

VirtioMmioTransport::State VirtioMmioTransport::save_state() const {
  std::lock_guard<std::mutex> guard(lock_);
  State s;
  s.status = status_;
  s.acked_features = acked_features_;
  s.device_features_sel = device_features_sel_;
  s.driver_features_sel = driver_features_sel_;
  s.queue_sel = queue_sel_;
  s.interrupt_status = interrupt_status_.load();
  s.config_generation = config_generation_.load();
  for (const auto& q : queues_) s.queues.push_back(q.save_state());
  s.device_state = device_->save_device_state();
  return s;
}

Result<void> VirtioMmioTransport::restore_state(const State& s) {
  std::lock_guard<std::mutex> guard(lock_);
  // Check everything that can be checked before touching anything.
  if (s.queues.size() != queues_.size())
    return make_error("virtio-mmio state has " + std::to_string(s.queues.size()) +
                      " queues, the device has " + std::to_string(queues_.size()));
  const uint32_t driver_bits = s.status & ~(kStatusDeviceNeedsReset | kStatusFailed);
  if (!is_status_in_sequence(driver_bits))
    return make_error("virtio-mmio state has an impossible device status " + to_hex(s.status));
  if ((s.acked_features & ~offered_features_) != 0)
    return make_error("virtio-mmio state acknowledges features the device does not offer: " +
                      to_hex(s.acked_features & ~offered_features_));
  if ((s.interrupt_status & ~(kInterruptUsedBuffer | kInterruptConfigChange)) != 0)
    return make_error("virtio-mmio state has unknown interrupt status bits " +
                      to_hex(s.interrupt_status));
  for (size_t i = 0; i < queues_.size(); ++i) {
    VirtQueue probe(queues_[i].max_size());
    auto r = probe.restore_state(s.queues[i]);
    if (!r) return with_context("queue " + std::to_string(i), r.error());
  }

  reset_locked();
  for (size_t i = 0; i < queues_.size(); ++i) CHECK(queues_[i].restore_state(s.queues[i]).ok());
  status_ = s.status;
  acked_features_ = s.acked_features;
  device_features_sel_ = s.device_features_sel;
  driver_features_sel_ = s.driver_features_sel;
  queue_sel_ = s.queue_sel;
  config_generation_.store(s.config_generation);
  auto restored = device_->restore_device_state(s.device_state);
  if (!restored) {
    reset_locked();
    return with_context("virtio device state", restored.error());
  }
  const bool was_active = (s.status & kStatusDriverOk) &&
                          !(s.status & (kStatusDeviceNeedsReset | kStatusFailed));
  if (was_active) {
    auto activated = activate_locked();
    if (!activated) {
      reset_locked();
      return with_context("re-activating the restored virtio device", activated.error());
    }
  }
  interrupt_status_.store(s.interrupt_status);
  return {};
}

}  // namespace ember
