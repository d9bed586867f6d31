#include "vmm/vm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "devices/legacy/acpi_sleep.h"
#include "devices/legacy/boot_timer.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/output_sink.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/serial.h"
#include "snapshot/memory_file.h"
#include "snapshot/state_file.h"
#include "vmm/bus.h"
#include "base/event_loop.h"
#include "vmm/irq_eventfd.h"
#include "vmm/kvm/kvm.h"
#include "memory/guest_memory.h"
#include "vmm/snapshot/microvm_state.h"
#include "base/errno_error.h"
#include "base/event_fd.h"
#include "base/file.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/vsock/virtio_vsock.h"
#include "vmm/device_configs.h"
#include "vmm/vcpu.h"
#include "vmm/virtio_manager.h"
#include "vmm/vm_exit.h"
#include "vmm/x86_64/acpi/tables.h"
#include "vmm/x86_64/boot_cpu.h"
#include "vmm/x86_64/boot_info.h"
#include "vmm/x86_64/cpuid.h"
#include "vmm/x86_64/layout.h"
#include "vmm/x86_64/loader/kernel_loader.h"
#include "vmm/x86_64/memory_map.h"
#include "vmm/x86_64/msrs.h"

namespace ember {
namespace {

constexpr uint64_t kMaxKernelFileSize = 1ull << 30;
// boot.rst: cmdline_size is at setup header offset 0x238 - 0x1f1.
constexpr size_t kSetupHeaderCmdlineSizeOffset = 0x238 - 0x1f1;
constexpr size_t kSetupHeaderInitrdAddrMaxOffset = 0x22c - 0x1f1;
constexpr uint64_t kDefaultInitrdAddrMax = 0x7fffffff;

uint32_t read_u32(std::span<const uint8_t> bytes, size_t off, uint32_t fallback) {
  if (bytes.size() < off + 4) return fallback;
  uint32_t v;
  std::memcpy(&v, bytes.data() + off, 4);
  return v;
}

// Puts a terminal into raw mode for the guest console and restores it on destruction.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // keep the host's newline handling for our own output
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

class MicroVm final : public Vm {
 public:
  MicroVm(EventLoop& event_loop, ExitSignal& exit_signal) : loop(&event_loop), exit(&exit_signal) {}
  ~MicroVm() override { stop(); }
  void start() override;
  void pause() override;
  void resume() override;
  Result<void> send_ctrl_alt_del() override { return i8042->trigger_ctrl_alt_del(); }
  Result<void> update_net_rate_limiters(const std::string& iface_id, const std::optional<RateLimiterConfig>& rx,
                                        const std::optional<RateLimiterConfig>& tx) override {
    auto it = nets.find(iface_id);
    if (it == nets.end()) return make_error("no network interface '" + iface_id + "'");
    it->second->update_rate_limiters(to_update(rx), to_update(tx));
    // A snapshot rebuilds the interface from the configuration: keep it current.
    for (auto& iface : config_.network_interfaces) {
      if (iface.iface_id != iface_id) continue;
      if (rx) iface.rx_rate_limiter = rx;
      if (tx) iface.tx_rate_limiter = tx;
    }
    return {};
  }

  Result<void> update_drive(const std::string& drive_id, const std::optional<std::string>& path_on_host,
                            const std::optional<RateLimiterConfig>& rate_limiter) override {
    auto it = blocks.find(drive_id);
    if (it == blocks.end()) return make_error("no drive '" + drive_id + "'");
    if (path_on_host) TRY(it->second->update_backing_file(*path_on_host));
    if (rate_limiter) TRY(it->second->update_rate_limiter(to_update(rate_limiter)));
    // A snapshot rebuilds the drive from the configuration: keep it current.
    for (auto& d : config_.drives) {
      if (d.drive_id != drive_id) continue;
      if (path_on_host) d.path_on_host = *path_on_host;
      if (rate_limiter) d.rate_limiter = rate_limiter;
    }
    return {};
  }

  void stop() override;
  const VmConfig& config() const override { return config_; }
  Result<void> create_snapshot(const SnapshotCreateParams& params) override;
  // Collects the pages written since the previous snapshot (KVM's log, the VMM's own writes,
  // and what a failed snapshot could not write) and clears the logs.
  Result<DirtyBitmaps> take_dirty_pages(const std::vector<VirtioDeviceSnapshot>& devices);

  VmCounters counters() const override {
    VmCounters c;
    for (const auto& v : vcpus) c.vcpu += v->exit_counters();
    for (const auto& [id, block] : blocks) c.blocks[id] = block->counters();
    for (const auto& [id, net] : nets) c.nets[id] = net->counters();
    if (vsock) c.vsock = vsock->counters();
    return c;
  }

  EventLoop* loop;
  ExitSignal* exit;
  VmConfig config_;
  std::optional<Kvm> kvm;
  std::optional<VmFd> vm_fd;
  // What a snapshot reads of each vCPU; the MSR list is asked for at the first snapshot (it
  // costs milliseconds on some hosts, and most VMs are never snapshotted).
  std::vector<uint32_t> msr_indices;
  size_t xsave_size = 4096;
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
  std::optional<EventFd> console_input_room;
  // Last: vCPU threads are stopped and joined before any device goes away.
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  int console_in_fd = -1;

 private:
  void read_console_input();
  void push_console_input();
  std::deque<uint8_t> pending_input_;
  std::optional<RawTerminal> raw_terminal_;
  bool stopped_ = false;
  bool paused_ = false;
  DirtyBitmaps carried_dirty_;
};

void MicroVm::read_console_input() {
  // Only when epoll says stdin is readable: the fd is shared with the user's terminal, so it
  // stays blocking and is never read speculatively.
  if (console_in_fd < 0) return;
  uint8_t buf[256];
  ssize_t n = ::read(console_in_fd, buf, sizeof buf);
  if (n > 0) {
    // A guest that never reads its console must not make us buffer without bound.
    constexpr size_t kMaxPendingInput = 64 * 1024;
    const size_t room = kMaxPendingInput - std::min(kMaxPendingInput, pending_input_.size());
    pending_input_.insert(pending_input_.end(), buf, buf + std::min<size_t>(room, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    loop->remove(console_in_fd);  // EOF: the guest simply gets no more input
    console_in_fd = -1;
  }
}

void MicroVm::push_console_input() {
  while (!pending_input_.empty()) {
    uint8_t chunk[64];
    size_t n = std::min(pending_input_.size(), sizeof chunk);
    std::copy_n(pending_input_.begin(), n, chunk);
    size_t accepted = serial->enqueue_input(std::span<const uint8_t>(chunk, n));
    pending_input_.erase(pending_input_.begin(), pending_input_.begin() + static_cast<long>(accepted));
    if (accepted < n) break;  // the guest's FIFO is full; resumed when it drains
  }
}

void MicroVm::start() {
  if (console_in_fd >= 0) {
    raw_terminal_.emplace(console_in_fd);
    // A console that cannot be polled (a regular file) just gets no input.
    if (!loop->add(console_in_fd, EPOLLIN, [this](uint32_t) {
          read_console_input();
          push_console_input();
        }).ok())
      console_in_fd = -1;
  }
  (void)loop->add(console_input_room->fd(), EPOLLIN, [this](uint32_t) {
    console_input_room->drain();
    push_console_input();
  });
  Vcpu::install_kick_handler();
  for (auto& v : vcpus) v->start();
}

void MicroVm::pause() {
  virtio->set_paused(true);
  for (auto& v : vcpus) v->pause();
  // A guest with kvmclock learns it was stopped, so its soft-lockup watchdog does not fire
  // on resume; a vCPU that never ran or a guest without kvmclock refuses, harmlessly.
  for (auto& v : vcpus) (void)v->fd().kvmclock_ctrl();
  paused_ = true;
}

void MicroVm::resume() {
  paused_ = false;
  for (auto& v : vcpus) v->resume();
  virtio->set_paused(false);
}

Result<DirtyBitmaps> MicroVm::take_dirty_pages(const std::vector<VirtioDeviceSnapshot>& devices) {
  // The used rings (and the avail_event field) are written through views taken when the queue
  // was activated, which the VMM's own tracking does not see: count them as written.
  for (const auto& d : devices) {
    for (const auto& q : d.transport.queues) {
      if (!q.ready || q.size == 0) continue;
      (void)memory->slice(q.used_ring, 6 + 8ull * q.size);
      (void)memory->slice(q.avail_ring, 6 + 2ull * q.size);
    }
  }
  DirtyBitmaps dirty;
  uint32_t slot = 0;
  for (const auto& r : memory->regions()) {
    ASSIGN_OR_RETURN(std::vector<uint64_t> pages, vm_fd->get_dirty_log(slot, r.size() / kMemoryPageSize));
    const std::vector<uint64_t> host = memory->take_host_dirty(slot);
    for (size_t w = 0; w < pages.size() && w < host.size(); ++w) pages[w] |= host[w];
    if (slot < carried_dirty_.size())
      for (size_t w = 0; w < pages.size() && w < carried_dirty_[slot].size(); ++w) pages[w] |= carried_dirty_[slot][w];
    dirty.push_back(std::move(pages));
    ++slot;
  }
  carried_dirty_.clear();
  return dirty;
}

Result<void> MicroVm::create_snapshot(const SnapshotCreateParams& params) {
  if (!paused_) return make_error("the microVM must be paused first (PATCH /vm {\"state\": \"Paused\"})");
  const bool diff = params.snapshot_type == SnapshotType::kDiff;
  if (diff && !memory->dirty_tracking())
    return make_error("a Diff snapshot needs dirty page tracking: set track_dirty_pages in machine-config");
  virtio->quiesce();

  MicrovmState s;
  s.ember_version = EMBER_VERSION;
  s.config = config_;
  for (const auto& r : memory->regions()) s.memory_regions.push_back({r.guest_addr(), r.size()});
  if (msr_indices.empty()) {
    ASSIGN_OR_RETURN(msr_indices, kvm->msr_index_list());
  }
  ASSIGN_OR_RETURN(s.vm, save_vm_state(*vm_fd));
  for (const auto& v : vcpus) {
    auto state = save_vcpu_state(v->fd(), msr_indices, xsave_size);
    if (!state) return with_context("vCPU " + std::to_string(v->fd().id()), state.error());
    s.vcpus.push_back(std::move(state).value());
  }
  s.serial = serial->save_state();
  s.i8042 = i8042->save_state();
  s.virtio = virtio->save_states();

  if (!memory->dirty_tracking()) {
    TRY(write_memory_file(params.mem_file_path, *memory));
    return write_state_file(params.snapshot_path, encode_microvm_state(s));
  }
  ASSIGN_OR_RETURN(DirtyBitmaps dirty, take_dirty_pages(s.virtio));
  auto written = diff ? write_memory_diff_file(params.mem_file_path, *memory, dirty)
                      : write_memory_file(params.mem_file_path, *memory);
  if (written) written = write_state_file(params.snapshot_path, encode_microvm_state(s));
  // The next Diff must still carry what this one failed to write.
  if (!written) carried_dirty_ = std::move(dirty);
  return written;
}

void MicroVm::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& v : vcpus) v->request_stop();
  for (auto& v : vcpus) v->join();
  if (console_in_fd >= 0) loop->remove(console_in_fd);
  if (console_input_room) loop->remove(console_input_room->fd());
  raw_terminal_.reset();
}

Result<void> configure_vcpu(const VcpuFd& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                            uint32_t count, EntryMode mode, uint64_t entry, uint64_t boot_info) {
  TRY(vcpu.set_cpuid(cpuid_for_vcpu(supported, vcpu.id(), count)));
  TRY(vcpu.set_msrs(boot_msrs()));
  TRY(vcpu.set_regs(boot_regs(mode, entry, boot_info)));
  ASSIGN_OR_RETURN(kvm_sregs sregs, vcpu.get_sregs());
  TRY(vcpu.set_sregs(boot_sregs(sregs, mode)));
  TRY(vcpu.set_fpu(boot_fpu()));
  ASSIGN_OR_RETURN(kvm_lapic_state lapic, vcpu.get_lapic());
  set_lint_vectors(&lapic);
  TRY(vcpu.set_lapic(lapic));
  return {};
}

Result<void> setup_kvm(MicroVm& vm) {
  ASSIGN_OR_RETURN(vm.kvm, Kvm::open());
  ASSIGN_OR_RETURN(vm.vm_fd, vm.kvm->create_vm());
  TRY(vm.vm_fd->set_tss_addr(layout::kTssAddr));
  TRY(vm.vm_fd->set_identity_map_addr(layout::kIdentityMapAddr));
  TRY(vm.vm_fd->create_irqchip());
  TRY(vm.vm_fd->create_pit2());
  auto xsave2 = vm.vm_fd->check_extension(KVM_CAP_XSAVE2);
  if (xsave2 && *xsave2 > 4096) vm.xsave_size = static_cast<size_t>(*xsave2);
  return {};
}

// Anonymous memory for a boot, or the snapshot's memory file (`memory_fd`) for a restore.
Result<void> setup_memory(MicroVm& vm, const std::vector<MemoryRegionSpec>& regions, int memory_fd,
                          bool track_dirty) {
  if (memory_fd >= 0) {
    ASSIGN_OR_RETURN(vm.memory, GuestMemory::create_from_file(regions, memory_fd));
  } else {
    ASSIGN_OR_RETURN(vm.memory, GuestMemory::create_anonymous(regions));
  }
  if (track_dirty) vm.memory->enable_dirty_tracking();
  uint32_t slot = 0;
  for (const auto& r : vm.memory->regions())
    TRY(vm.vm_fd->set_user_memory_region(slot++, r.guest_addr(), r.size(), r.host(), track_dirty));
  return {};
}

Result<void> setup_legacy_devices(MicroVm& vm, const VmOptions& opts) {
  ExitSignal* exit = vm.exit;
  ASSIGN_OR_RETURN(auto serial_irq, IrqEventFd::create(*vm.vm_fd, layout::kSerialIrq));
  ASSIGN_OR_RETURN(vm.console_input_room, EventFd::create());
  const EventFd* room = &*vm.console_input_room;
  vm.serial = std::make_shared<Serial>(serial_irq, std::make_shared<FdOutputSink>(opts.console_out_fd),
                                       [room] { room->signal(); });
  TRY(vm.pio.insert(vm.serial, layout::kSerialPort, 8));

  ASSIGN_OR_RETURN(auto kbd_irq, IrqEventFd::create(*vm.vm_fd, layout::kI8042Irq));
  vm.i8042 = std::make_shared<I8042>(kbd_irq, [exit] {
    exit->report(kExitOk, "guest reset through the i8042 controller");
  });
  TRY(vm.pio.insert(vm.i8042, layout::kI8042Port, 5));

  auto sleep = std::make_shared<AcpiSleep>([exit] { exit->report(kExitOk, "guest powered off (ACPI S5)"); });
  TRY(vm.pio.insert(sleep, layout::kAcpiSleepControlPort, 2));

  auto pvpanic = std::make_shared<PvPanic>([exit] { exit->report(kExitGuestPanic, "guest kernel panicked (pvpanic)"); });
  TRY(vm.pio.insert(pvpanic, layout::kPvPanicPort, PvPanic::kPortCount));

  if (opts.boot_timer) {
    // CLOCK_PROCESS_CPUTIME_ID counts from exec, so the process's CPU time at start is 0.
    auto timer = std::make_shared<BootTimer>(BootTimer::StartPoint{opts.start_time, std::chrono::nanoseconds(0)});
    TRY(vm.mmio.insert(timer, layout::kBootTimerAddr, 0x1000));
  }
  return {};
}

// Network interfaces become virtio-net devices on their taps, in the order given.
Result<void> setup_network(VirtioManager& virtio, const std::vector<NetworkInterfaceConfig>& ifaces,
                           std::map<std::string, std::shared_ptr<VirtioNet>>* nets) {
  for (const auto& iface : ifaces) {
    const VirtioNetConfig nc = net_device_config(iface);
    std::shared_ptr<VirtioNet> net;
    auto added = virtio.add("net " + iface.iface_id, [&](EventRegistrar& events) -> Result<std::shared_ptr<VirtioDevice>> {
      ASSIGN_OR_RETURN(std::unique_ptr<VirtioNet> dev, VirtioNet::create(nc, events));
      net = std::move(dev);
      return std::shared_ptr<VirtioDevice>(net);
    });
    if (!added) return added.error();
    (*nets)[iface.iface_id] = net;
  }
  return {};
}

// Drives become virtio-block devices, the root device first so the guest sees it as
// /dev/vda. Returns the root= argument for the kernel command line (empty without a root
// device), as Firecracker adds it.
Result<std::string> setup_drives(VirtioManager& virtio, const std::vector<DriveConfig>& drives,
                                 std::map<std::string, std::shared_ptr<VirtioBlock>>* blocks) {
  std::vector<const DriveConfig*> order;
  for (const auto& d : drives)
    if (d.is_root_device) order.push_back(&d);
  if (order.size() > 1) return make_error("drives: more than one drive has is_root_device set");
  for (const auto& d : drives)
    if (!d.is_root_device) order.push_back(&d);

  std::string root_arg;
  for (const DriveConfig* d : order) {
    VirtioBlockConfig bc;
    bc.path = d->path_on_host;
    bc.read_only = d->is_read_only;
    bc.id = d->drive_id;
    bc.engine = d->io_engine == DriveIoEngine::kAsync ? BlockEngineKind::kAsync : BlockEngineKind::kSync;
    bc.rate_limiter = to_limits(d->rate_limiter);
    std::shared_ptr<VirtioBlock> block;
    auto added = virtio.add("drive " + d->drive_id, [&](EventRegistrar& events) -> Result<std::shared_ptr<VirtioDevice>> {
      ASSIGN_OR_RETURN(std::unique_ptr<VirtioBlock> blk, VirtioBlock::create(bc, &events));
      if (blk->completion_fd() >= 0) TRY(events.watch(blk->completion_fd(), EPOLLIN, VirtioBlock::kCompletionEvent));
      block = std::move(blk);
      return std::shared_ptr<VirtioDevice>(block);
    });
    if (!added) return added.error();
    (*blocks)[d->drive_id] = block;
    if (d->is_root_device) {
      root_arg = d->partuuid ? "root=PARTUUID=" + *d->partuuid : std::string("root=/dev/vda");
      root_arg += d->is_read_only ? " ro" : " rw";
    }
  }
  return root_arg;
}

// What a booted and a restored VM share: KVM, memory, and the devices on their buses, which
// are frozen. Returns the root= argument for the kernel command line (see setup_drives()).
Result<std::string> assemble(MicroVm& vm, const VmOptions& opts, const std::vector<MemoryRegionSpec>& regions,
                             int memory_fd) {
  const VmConfig& cfg = vm.config_;
  TRY(setup_kvm(vm));
  TRY(setup_memory(vm, regions, memory_fd, cfg.machine.track_dirty_pages));
  TRY(setup_legacy_devices(vm, opts));
  vm.virtio = std::make_unique<VirtioManager>(*vm.vm_fd, *vm.memory, vm.mmio, *vm.loop);
  ASSIGN_OR_RETURN(std::string root_arg, setup_drives(*vm.virtio, cfg.drives, &vm.blocks));
  TRY(setup_network(*vm.virtio, cfg.network_interfaces, &vm.nets));
  if (cfg.vsock) {
    const VirtioVsockConfig vc = vsock_device_config(*cfg.vsock);
    std::shared_ptr<VirtioVsock> vsock;
    auto added = vm.virtio->add("vsock", [&vc, &vsock](EventRegistrar& events) -> Result<std::shared_ptr<VirtioDevice>> {
      ASSIGN_OR_RETURN(std::unique_ptr<VirtioVsock> dev, VirtioVsock::create(vc, events));
      vsock = std::move(dev);
      return std::shared_ptr<VirtioDevice>(vsock);
    });
    if (!added) return added.error();
    vm.vsock = std::move(vsock);
    vm.vsock_transport = *added;
  }
  vm.pio.freeze();
  vm.mmio.freeze();
  return root_arg;
}

Result<std::unique_ptr<Vm>> build(const VmOptions& opts, EventLoop& loop, ExitSignal& exit) {
  const VmConfig& cfg = opts.config;
  if (!cfg.boot_source) return make_error("no boot-source given: a kernel is required");
  TRY(validate_machine_config(cfg.machine, host_memory_bytes()));
  const BootSourceConfig& boot = *cfg.boot_source;

  auto vm = std::make_unique<MicroVm>(loop, exit);
  vm->config_ = cfg;
  vm->console_in_fd = opts.console_in_fd;
  ASSIGN_OR_RETURN(std::string root_arg, assemble(*vm, opts, ram_regions_for(cfg.machine.mem_size_mib << 20), -1));
  const GuestMemory& mem = *vm->memory;

  auto image = read_file(boot.kernel_image_path, kMaxKernelFileSize);
  if (!image) return with_context("boot-source.kernel_image_path", image.error());
  auto kernel = load_kernel(mem, *image, boot.bzimage_load);
  if (!kernel) return with_context("kernel " + boot.kernel_image_path, kernel.error());
  log_info("kernel: " + kernel->description);

  BootInfo info{};
  info.memory_map = e820_map(mem);
  info.setup_header = kernel->setup_header;
  std::span<const uint8_t> hdr(kernel->setup_header);
  const uint64_t initrd_addr_max = read_u32(hdr, kSetupHeaderInitrdAddrMaxOffset, kDefaultInitrdAddrMax);
  const uint64_t cmdline_max = hdr.empty() ? layout::kCmdlineMaxSize
                                           : uint64_t{read_u32(hdr, kSetupHeaderCmdlineSizeOffset, 255)} + 1;

  if (boot.initrd_path) {
    auto initrd = read_file(*boot.initrd_path, mem.total_size());
    if (!initrd) return with_context("boot-source.initrd_path", initrd.error());
    auto addr = place_initrd(mem, initrd->size(), kernel->image_end, initrd_addr_max);
    if (!addr) return with_context("boot-source.initrd_path", addr.error());
    TRY(mem.write(*addr, *initrd));
    info.initrd = InitrdPlacement{*addr, initrd->size()};
  }

  std::string cmdline = boot.boot_args.value_or(kDefaultBootArgs);
  if (!root_arg.empty()) cmdline += " " + root_arg;
  auto cmdline_addr = write_cmdline(mem, cmdline, cmdline_max);
  if (!cmdline_addr) return with_context("boot-source.boot_args", cmdline_addr.error());
  info.cmdline_addr = *cmdline_addr;
  info.cmdline_size = cmdline.size() + 1;

  AcpiConfig acpi{};
  acpi.vcpu_count = cfg.machine.vcpu_count;
  acpi.virtio_devices = vm->virtio->acpi_devices();
  ASSIGN_OR_RETURN(info.rsdp_addr, write_acpi_tables(mem, acpi));

  const bool pvh = kernel->protocol == BootProtocol::kPvh;
  const EntryMode mode = pvh ? EntryMode::kProtected32 : EntryMode::kLong64;
  TRY(write_boot_tables(mem, mode));
  uint64_t boot_info_addr = 0;
  if (pvh) {
    ASSIGN_OR_RETURN(boot_info_addr, write_pvh_start_info(mem, info));
  } else {
    ASSIGN_OR_RETURN(boot_info_addr, write_zero_page(mem, info));
  }

  ASSIGN_OR_RETURN(auto supported, vm->kvm->supported_cpuid());
  for (uint32_t i = 0; i < cfg.machine.vcpu_count; ++i) {
    ASSIGN_OR_RETURN(VcpuFd fd, vm->vm_fd->create_vcpu(i));
    auto r = configure_vcpu(fd, supported, cfg.machine.vcpu_count, mode, kernel->entry, boot_info_addr);
    if (!r) return with_context("vCPU " + std::to_string(i), r.error());
    vm->vcpus.push_back(std::make_unique<Vcpu>(std::move(fd), vm->pio, vm->mmio, *vm->exit));
  }
  return std::unique_ptr<Vm>(std::move(vm));
}

// The snapshot's configuration with the load request's overrides applied: a clone gets its own
// tap and vsock socket.
Result<VmConfig> restored_config(const MicrovmState& state, const SnapshotLoadParams& params) {
  VmConfig cfg = state.config;
  for (const auto& o : params.network_overrides) {
    auto it = std::find_if(cfg.network_interfaces.begin(), cfg.network_interfaces.end(),
                           [&](const NetworkInterfaceConfig& n) { return n.iface_id == o.iface_id; });
    if (it == cfg.network_interfaces.end())
      return make_error("network_overrides: the snapshot has no network interface '" + o.iface_id + "'");
    it->host_dev_name = o.host_dev_name;
  }
  if (params.vsock_override) {
    if (!cfg.vsock) return make_error("vsock_override: the snapshot has no vsock device");
    cfg.vsock->uds_path = params.vsock_override->uds_path;
  }
  cfg.machine.track_dirty_pages = params.track_dirty_pages;
  TRY(validate_machine_config(cfg.machine, host_memory_bytes()));
  if (state.memory_regions != ram_regions_for(cfg.machine.mem_size_mib << 20))
    return make_error("the snapshot's memory layout does not match its " + std::to_string(cfg.machine.mem_size_mib) +
                      " MiB machine config");
  return cfg;
}

Result<std::unique_ptr<Vm>> restore(const SnapshotLoadParams& params, const VmOptions& opts, EventLoop& loop,
                                    ExitSignal& exit, VmConfig* config) {
  if (params.mem_backend.backend_type != MemBackendType::kFile)
    return make_error("mem_backend: only the File backend is supported");
  auto payload = read_state_file(params.snapshot_path);
  if (!payload) return with_context("snapshot_path", payload.error());
  auto state = decode_microvm_state(*payload);
  if (!state) return with_context("snapshot " + params.snapshot_path, state.error());
  ASSIGN_OR_RETURN(VmConfig cfg, restored_config(*state, params));

  const std::string& mem_path = params.mem_backend.backend_path;
  // Read-only is enough: the mapping is private, the guest's writes never reach the file.
  UniqueFd mem_fd(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem_fd.valid()) return with_context("mem_backend.backend_path", errno_error("cannot open " + mem_path));

  auto vm = std::make_unique<MicroVm>(loop, exit);
  vm->config_ = cfg;
  vm->console_in_fd = opts.console_in_fd;
  auto assembled = assemble(*vm, opts, state->memory_regions, mem_fd.get());
  if (!assembled) return with_context("snapshot " + params.snapshot_path, assembled.error());

  for (uint32_t i = 0; i < cfg.machine.vcpu_count; ++i) {
    ASSIGN_OR_RETURN(VcpuFd fd, vm->vm_fd->create_vcpu(i));
    auto r = restore_vcpu_state(fd, state->vcpus[i], vm->xsave_size);
    if (!r) return with_context("restoring vCPU " + std::to_string(i), r.error());
    vm->vcpus.push_back(std::make_unique<Vcpu>(std::move(fd), vm->pio, vm->mmio, *vm->exit));
  }
  // After the vCPUs: KVM recomputes every vCPU's kvmclock from the VM clock set here.
  auto vm_state = restore_vm_state(*vm->vm_fd, state->vm, params.clock_realtime);
  if (!vm_state) return with_context("restoring the VM state", vm_state.error());
  auto serial = vm->serial->restore_state(state->serial);
  if (!serial) return with_context("restoring the serial port", serial.error());
  auto i8042 = vm->i8042->restore_state(state->i8042);
  if (!i8042) return with_context("restoring the i8042", i8042.error());
  auto devices = vm->virtio->restore_states(state->virtio);
  if (!devices) return with_context("restoring the virtio devices", devices.error());
  // Connections of the snapshotted VM do not exist here: the guest drops its own on the
  // transport reset event (virtio 1.2 §5.10.6.7).
  if (vm->vsock_transport) vm->vsock_transport->process_device_event(VirtioVsock::kTransportResetEvent);
  // Pages the restore itself wrote (device rings) belong to this VM, not to a later diff.
  if (vm->memory->dirty_tracking()) (void)vm->take_dirty_pages({});
  *config = std::move(cfg);
  log_info("restored the microVM from " + params.snapshot_path);
  return std::unique_ptr<Vm>(std::move(vm));
}

}  // namespace

Result<std::unique_ptr<Vm>> build_vm(const VmOptions& options, EventLoop& loop, ExitSignal& exit) {
  return build(options, loop, exit);
}

Result<std::unique_ptr<Vm>> restore_vm(const SnapshotLoadParams& params, const VmOptions& options, EventLoop& loop,
                                       ExitSignal& exit, VmConfig* config) {
  return restore(params, options, loop, exit, config);
}

}  // namespace ember
