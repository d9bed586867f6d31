// The running microVM: what build_vm() and restore_vm() hand back behind the Vm interface.
// Internal to vmm/; everything else sees vmm/vm.h.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/event_fd.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/vsock/virtio_vsock.h"
#include "memory/guest_memory.h"
#include "snapshot/memory_file.h"
#include "vmm/bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/virtio_manager.h"
#include "vmm/vm.h"

namespace ember {

// What building or restoring a VM puts together, handed whole to the MicroVm. On the heap and
// never moved: the buses, the virtio manager and the vCPUs hold references into it. Members go
// in reverse order, which is the order they must.
struct MicroVmParts {
  std::optional<Kvm> kvm;
  std::optional<VmFd> vm_fd;
  // The size of a vCPU's XSAVE area on this host (KVM_CAP_XSAVE2), for saving and restoring.
  size_t xsave_size = 4096;
  // VmOptions::vcpu_thread_prefix, for add_vcpus().
  std::string vcpu_thread_prefix = "ember_vcpu";
  std::optional<GuestMemory> memory;
  // Before the buses: they hold the transports, which must go before the manager's slots
  // (a device's destructor unwatches its fds through its slot).
  std::unique_ptr<VirtioManager> virtio;
  // After the manager: these devices go before the slots they unwatch their fds through.
  std::map<std::string, std::shared_ptr<VirtioNet>> nets;
  std::map<std::string, std::shared_ptr<VirtioBlock>> blocks;
  std::shared_ptr<VirtioVsock> vsock;
  std::shared_ptr<VirtioMmioTransport> vsock_transport;
  Bus pio{"port I/O"};
  Bus mmio{"MMIO"};
  std::shared_ptr<Serial> serial;
  std::shared_ptr<I8042> i8042;
  // Signalled by the serial port when its receive FIFO has room for more console input.
  std::optional<EventFd> console_input_room;
  // Last: vCPU threads are stopped and joined before any device goes away.
  std::vector<std::unique_ptr<Vcpu>> vcpus;
};

class MicroVm final : public Vm {
 public:
  // `parts` complete (KVM, memory, devices on frozen buses, vCPUs ready to run); `loop`
  // outlives the VM. `console_in_fd` (-1: none) is read once start() has run.
  MicroVm(EventLoop& loop, VmConfig config, std::unique_ptr<MicroVmParts> parts, int console_in_fd);
  ~MicroVm() override;
  MicroVm(const MicroVm&) = delete;
  MicroVm& operator=(const MicroVm&) = delete;

  void start() override;
  void pause() override;
  void resume() override;
  Result<void> send_ctrl_alt_del() override;
  Result<void> update_drive(const std::string& drive_id, const std::optional<std::string>& path_on_host,
                            const std::optional<RateLimiterConfig>& rate_limiter) override;
  Result<void> update_net_rate_limiters(const std::string& iface_id, const std::optional<RateLimiterConfig>& rx,
                                        const std::optional<RateLimiterConfig>& tx) override;
  void stop() override;
  Result<void> create_snapshot(const SnapshotCreateParams& params) override;
  VmCounters counters() const override;
  const VmConfig& config() const override { return config_; }

  // For a restored VM with dirty page tracking: the pages the restore itself wrote (device
  // rings) belong to this VM, not to its first Diff snapshot.
  void forget_dirty_pages();

 private:
  // Collects the pages written since the previous snapshot (KVM's log, the VMM's own writes,
  // and what a failed snapshot could not write) and clears the logs.
  Result<DirtyBitmaps> take_dirty_pages(const std::vector<VirtioDeviceSnapshot>& devices);
  void read_console_input();
  void push_console_input();

  // Puts the console's terminal into raw mode while the VM runs.
  class RawTerminal;

  EventLoop& loop_;
  // The configuration the VM runs with, kept current by the PATCH updates: a snapshot carries
  // it and the restore rebuilds the devices from it.
  VmConfig config_;
  std::unique_ptr<MicroVmParts> parts_;
  int console_in_fd_;
  // What a snapshot reads of each vCPU; the MSR list is asked for at the first snapshot (it
  // costs milliseconds on some hosts, and most VMs are never snapshotted).
  std::vector<uint32_t> msr_indices_;
  std::deque<uint8_t> pending_input_;
  std::unique_ptr<RawTerminal> raw_terminal_;
  bool stopped_ = false;
  bool paused_ = false;
  DirtyBitmaps carried_dirty_;
};

}  // namespace ember
