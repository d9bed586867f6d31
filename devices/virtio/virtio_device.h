// What a virtio device (block, net, vsock, ...) implements so that a transport can drive it.
// The device knows nothing about MMIO or PCI: it offers features and a config space, and once
// the driver sets DRIVER_OK it gets guest memory, its queues and a way to interrupt the guest.
//
// Threads: the transport calls every method under its own lock, so a device needs no locking
// of its own for state these methods touch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace ember {

class GuestMemory;
class VirtQueue;

// How a device tells the driver that something happened; implemented by the transport.
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // Used-buffer notification for queue `index` (§2.7.7); the device has already decided the
  // driver wants one (VirtQueue::needs_notification()).
  virtual void signal_used_queue(uint16_t index) = 0;
  // Configuration change notification (§2.3): the device changed its config space.
  virtual void signal_config_change() = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  // Device ID (§5, e.g. 2 for block).
  [[nodiscard]] virtual uint32_t device_type() const = 0;
  // One entry per queue: its maximum size (a power of two). The count never changes.
  [[nodiscard]] virtual std::span<const uint16_t> queue_max_sizes() const = 0;
  // Every feature bit the device offers, device-independent ones (VIRTIO_F_VERSION_1 must be
  // among them) included.
  [[nodiscard]] virtual uint64_t device_features() const = 0;

  // Device-specific configuration space (§2.5), byte-addressed from its start; bytes past its
  // end read as zero and writes there are ignored.
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void write_config(uint64_t offset, std::span<const uint8_t> data) = 0;

  // The driver set DRIVER_OK: start working. `queues` (one per queue_max_sizes() entry, each
  // ready one already activated against `mem`) and `interrupt` stay valid until reset(). An
  // error (a queue the device cannot work without is not ready, ...) leaves the device
  // inactive and makes the transport ask the driver for a reset.
  [[nodiscard]] virtual Result<void> activate(const GuestMemory& mem, uint64_t acked_features,
                                              std::span<VirtQueue> queues,
                                              VirtioInterrupt& interrupt) = 0;
  // The driver notified queue `index` (a valid index of an active device). An error means the
  // driver broke the queue; the transport then stops the device until the driver resets it.
  [[nodiscard]] virtual Result<void> process_queue(uint16_t index) = 0;
  // A host-side event of the device itself (an I/O completion, a backend fd became readable),
  // identified by a device-defined id. Only called while active.
  [[nodiscard]] virtual Result<void> process_event(uint32_t /*event_id*/) { return {}; }
  // Back to the state before activate(): forget memory, queues and the interrupt. Also called
  // on a device that is not active (a driver resetting early), where it changes nothing.
  virtual void reset() = 0;
  // The VM is paused for a snapshot: finish the requests the device has taken from its queues
  // and hand them back to the driver (or put them back on the queue), so the saved queue
  // indices account for every chain. Only called while active.
  virtual void quiesce() {}

  // Device-specific state for snapshots, as bytes the device itself defines and checks.
  // restore_device_state() runs on a reset device, before the transport re-activates it.
  [[nodiscard]] virtual std::vector<uint8_t> save_device_state() const { return {}; }
  [[nodiscard]] virtual Result<void> restore_device_state(std::span<const uint8_t> bytes) {
    if (!bytes.empty()) return make_error("this virtio device keeps no state to restore");
    return {};
  }
};

}  // namespace ember
