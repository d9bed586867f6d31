// Puts virtio devices on the VM: each on the MMIO window and GSI its plan gives it
// (vmm/vm_plan.h), an irqfd for interrupts, an ioeventfd per queue so queue notifications
// reach the VMM thread without a vCPU exit, and the device's host fds on the VMM thread's
// event loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_device.h"
#include "vmm/bus.h"
#include "base/event_loop.h"
#include "vmm/kvm/kvm.h"
#include "memory/guest_memory.h"
#include "vmm/snapshot/virtio_state.h"
#include "vmm/vm_plan.h"
#include "base/event_fd.h"
#include "vmm/x86_64/acpi/tables.h"

namespace ember {

class VirtioManager {
 public:
  // Builds a device; the registrar it gets stays valid as long as the manager.
  using DeviceFactory = std::function<Result<std::shared_ptr<VirtioDevice>>(EventRegistrar&)>;

  VirtioManager(const VmFd& vm, const GuestMemory& mem, Bus& mmio, EventLoop& loop);
  ~VirtioManager();
  VirtioManager(const VirtioManager&) = delete;
  VirtioManager& operator=(const VirtioManager&) = delete;

  // `plan.id` names the device in errors, logs and snapshots ("drive rootfs").
  [[nodiscard]] Result<std::shared_ptr<VirtioMmioTransport>> add(const VirtioDevicePlan& plan,
                                                                  const DeviceFactory& factory);
  // While paused, queue notifications are held back; resuming runs every queue once so none
  // that was notified meanwhile is left waiting.
  void set_paused(bool paused);

  // Snapshots. quiesce() makes every active device hand back the requests it holds;
  // save_states() reads every device (VM paused, quiesced); restore_states() gives the
  // devices of a VM rebuilt from the same configuration their saved states, matched in order
  // by id and type. On error nothing is left half restored but the devices already done.
  void quiesce();
  [[nodiscard]] std::vector<VirtioDeviceSnapshot> save_states() const;
  [[nodiscard]] Result<void> restore_states(const std::vector<VirtioDeviceSnapshot>& states);

  // What the DSDT must announce, in attach order (the guest numbers devices in that order).
  [[nodiscard]] const std::vector<AcpiVirtioDevice>& acpi_devices() const { return acpi_; }

 private:
  class Slot;
  const VmFd& vm_;
  const GuestMemory& mem_;
  Bus& mmio_;
  EventLoop& loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<AcpiVirtioDevice> acpi_;
  bool paused_ = false;
};

}  // namespace ember
