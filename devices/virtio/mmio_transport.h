// The virtio-mmio transport, version 2 (virtio 1.2 §4.2): a register window on the MMIO bus
// through which the guest driver negotiates features, sets up queues and drives the device
// status machine of §2.1 / §3.1.1; behind it, one VirtioDevice.
//
// Register map (§4.2.2, offsets from the window base; control registers are 32 bits wide):
//   0x000 MagicValue "virt"   0x004 Version (2)        0x008 DeviceID       0x00c VendorID
//   0x010 DeviceFeatures      0x014 DeviceFeaturesSel  0x020 DriverFeatures 0x024 DriverFeaturesSel
//   0x030 QueueSel            0x034 QueueNumMax        0x038 QueueNum       0x044 QueueReady
//   0x050 QueueNotify         0x060 InterruptStatus    0x064 InterruptACK   0x070 Status
//   0x080/0x084 QueueDesc     0x090/0x094 QueueDriver  0x0a0/0x0a4 QueueDevice (low/high)
//   0x0ac SHMSel  0x0b0/0x0b4 SHMLen  0x0b8/0x0bc SHMBase  0x0c0 QueueReset
//   0x0fc ConfigGeneration    0x100+ device configuration space (byte granular)
//
// Threads: vCPU threads reach read()/write() through the bus; the VMM thread calls
// notify_queue() when a queue's ioeventfd fires and process_device_event() for device
// backends. One mutex covers the registers, the queues and the device. Interrupt status is an
// atomic so that raising an interrupt needs no lock; the IrqLine is triggered under the lock,
// which is fine because an irqfd write never calls back into ember.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "devices/bus_device.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio_device.h"
#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember {

class VirtioMmioTransport final : public BusDevice {
 public:
  // Size of the register block plus a config space of up to 0x100 bytes; the bus window the
  // VMM gives a device (layout::kVirtioMmioWindow) may be larger, the rest reads as zero.
  static constexpr uint64_t kWindowSize = 0x200;
  // Where the driver writes a queue index to notify it: the VMM registers one ioeventfd here
  // per queue (4 bytes, datamatch = queue index) and calls notify_queue() when it fires.
  static constexpr uint64_t kQueueNotifyOffset = 0x050;
  // Interrupt status bits (§4.2.2, InterruptStatus).
  static constexpr uint32_t kInterruptUsedBuffer = 1;
  static constexpr uint32_t kInterruptConfigChange = 2;

  // What a snapshot keeps: registers, queues and the device's own state bytes.
  struct State {
    uint32_t status = 0;
    uint64_t acked_features = 0;
    uint32_t device_features_sel = 0;
    uint32_t driver_features_sel = 0;
    uint32_t queue_sel = 0;
    uint32_t interrupt_status = 0;
    uint32_t config_generation = 0;
    std::vector<VirtQueue::State> queues;
    std::vector<uint8_t> device_state;
  };

  // `mem` must outlive the transport. The device must offer VIRTIO_F_VERSION_1.
  VirtioMmioTransport(std::shared_ptr<VirtioDevice> device, const GuestMemory& mem,
                      std::shared_ptr<IrqLine> irq);
  ~VirtioMmioTransport() override;
  VirtioMmioTransport(const VirtioMmioTransport&) = delete;
  VirtioMmioTransport& operator=(const VirtioMmioTransport&) = delete;

  // BusDevice. Control registers take aligned 32-bit accesses only (§4.2.2.2); anything else
  // reads as zero and is ignored on write (logged once). The config space takes any width.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The driver notified queue `index`: the ioeventfd path (VMM thread). The QueueNotify
  // register write lands here too when no ioeventfd is registered. Does nothing unless the
  // device is active; an unknown index is ignored.
  void notify_queue(uint32_t index);
  // A device backend event (see VirtioDevice::process_event), VMM thread.
  void process_device_event(uint32_t event_id);

  // See VirtioDevice::quiesce(); does nothing unless the device is active.
  void quiesce();
  [[nodiscard]] State save_state() const;
  // Puts the transport and device into a saved state, re-activating the device when the
  // state has DRIVER_OK. On failure the transport and device are left reset.
  [[nodiscard]] Result<void> restore_state(const State& state);

  // Introspection for the VMM and tests.
  [[nodiscard]] uint32_t status() const;
  [[nodiscard]] bool device_active() const;
  [[nodiscard]] uint32_t interrupt_status() const { return interrupt_status_.load(); }
  [[nodiscard]] size_t queue_count() const { return queues_.size(); }
  [[nodiscard]] const std::shared_ptr<VirtioDevice>& device() const { return device_; }

 private:
  class Interrupt;

  // Kinds of guest misbehaviour logged once each, so a looping driver cannot flood the log.
  enum class Oddity : uint32_t {
    kBadRegisterAccess = 1u << 0,
    kReadOnlyRegisterWrite = 1u << 1,
    kQueueRegisterLocked = 1u << 2,
    kBadStatusTransition = 1u << 3,
    kFeaturesRejected = 1u << 4,
    kBadQueueNotify = 1u << 5,
    kDriverFeaturesLocked = 1u << 6,
  };
  void log_once(Oddity kind, const std::string& message);

  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void write_status(uint32_t value);
  void write_queue_register(uint64_t offset, uint32_t value);
  VirtQueue* selected_queue();
  bool features_acceptable();
  // Activates the ready queues and the device (DRIVER_OK, or a restored active state).
  [[nodiscard]] Result<void> activate_locked();
  void process_queue_locked(uint32_t index);
  // The device broke or was broken by the driver: stop it and ask the driver for a reset.
  void fail_device(const Error& error);
  void reset_locked();

  const std::shared_ptr<VirtioDevice> device_;
  const GuestMemory& mem_;
  const std::shared_ptr<IrqLine> irq_;
  const uint64_t offered_features_;
  std::unique_ptr<Interrupt> interrupt_;

  mutable std::mutex lock_;
  std::vector<VirtQueue> queues_;
  uint32_t status_ = 0;
  uint64_t acked_features_ = 0;
  bool acked_unknown_features_ = false;  // bits above 63 written: never acceptable
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t shm_sel_ = 0;
  bool active_ = false;  // device activated and not failed since
  uint32_t logged_ = 0;  // Oddity bits already logged
  // Raised by the device through Interrupt without the lock.
  std::atomic<uint32_t> interrupt_status_{0};
  std::atomic<uint32_t> config_generation_{0};
};

}  // namespace ember
