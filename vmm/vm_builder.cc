// build_vm(): a VM booting its kernel, and the assembly it shares with restore_vm().
#include "vmm/vm_builder.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/file.h"
#include "base/log.h"
#include "devices/legacy/acpi_sleep.h"
#include "devices/legacy/boot_timer.h"
#include "devices/legacy/output_sink.h"
#include "devices/legacy/pvpanic.h"
#include "mmds/service.h"
#include "vmm/device_configs.h"
#include "vmm/irq_eventfd.h"
#include "vmm/vm_exit.h"
#include "vmm/x86_64/acpi/tables.h"
#include "vmm/x86_64/boot_cpu.h"
#include "vmm/x86_64/boot_info.h"
#include "vmm/x86_64/cpu_template.h"
#include "vmm/x86_64/cpuid.h"
#include "vmm/x86_64/layout.h"
#include "vmm/x86_64/loader/kernel_loader.h"
#include "vmm/x86_64/memory_map.h"
#include "vmm/x86_64/msrs.h"

namespace ember {
namespace {

// Firecracker prints a missing capability as {:#x}.
std::string hex_u32(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%x", v);
  return text;
}

constexpr uint64_t kMaxKernelFileSize = 1ull << 30;

Result<void> setup_kvm(MicroVmParts& parts) {
  ASSIGN_OR_RETURN(parts.kvm, Kvm::open());
  ASSIGN_OR_RETURN(parts.vm_fd, parts.kvm->create_vm());
  TRY(parts.vm_fd->set_tss_addr(layout::kTssAddr));
  TRY(parts.vm_fd->set_identity_map_addr(layout::kIdentityMapAddr));
  TRY(parts.vm_fd->create_irqchip());
  TRY(parts.vm_fd->create_pit2());
  auto xsave2 = parts.vm_fd->check_extension(KVM_CAP_XSAVE2);
  if (xsave2 && *xsave2 > 4096) parts.xsave_size = static_cast<size_t>(*xsave2);
  return {};
}

// Anonymous memory for a boot, or the snapshot's memory file (`memory_fd`) for a restore.
Result<void> setup_memory(MicroVmParts& parts, const std::vector<MemoryRegionSpec>& regions, int memory_fd,
                          bool track_dirty) {
  if (memory_fd >= 0) {
    ASSIGN_OR_RETURN(parts.memory, GuestMemory::create_from_file(regions, memory_fd));
  } else {
    ASSIGN_OR_RETURN(parts.memory, GuestMemory::create_anonymous(regions));
  }
  if (track_dirty) parts.memory->enable_dirty_tracking();
  uint32_t slot = 0;
  for (const auto& r : parts.memory->regions())
    TRY(parts.vm_fd->set_user_memory_region(slot++, r.guest_addr(), r.size(), r.host(), track_dirty));
  return {};
}

Result<void> setup_legacy_devices(MicroVmParts& parts, const VmOptions& opts, ExitSignal& exit_signal) {
  ExitSignal* exit = &exit_signal;
  ASSIGN_OR_RETURN(auto serial_irq, IrqEventFd::create(*parts.vm_fd, layout::kSerialIrq));
  ASSIGN_OR_RETURN(parts.console_input_room, EventFd::create());
  const EventFd* room = &*parts.console_input_room;
  parts.serial = std::make_shared<Serial>(serial_irq, std::make_shared<FdOutputSink>(opts.console_out_fd),
                                          [room] { room->signal(); });
  TRY(parts.pio.insert(parts.serial, layout::kSerialPort, 8));

  ASSIGN_OR_RETURN(auto kbd_irq, IrqEventFd::create(*parts.vm_fd, layout::kI8042Irq));
  parts.i8042 = std::make_shared<I8042>(kbd_irq, [exit] {
    exit->report(kExitOk, "guest reset through the i8042 controller");
  });
  TRY(parts.pio.insert(parts.i8042, layout::kI8042Port, 5));

  auto sleep = std::make_shared<AcpiSleep>([exit] { exit->report(kExitOk, "guest powered off (ACPI S5)"); });
  TRY(parts.pio.insert(sleep, layout::kAcpiSleepControlPort, 2));

  auto pvpanic = std::make_shared<PvPanic>([exit] { exit->report(kExitGuestPanic, "guest kernel panicked (pvpanic)"); });
  TRY(parts.pio.insert(pvpanic, layout::kPvPanicPort, PvPanic::kPortCount));

  if (opts.boot_timer) {
    // CLOCK_PROCESS_CPUTIME_ID counts from exec, so the process's CPU time at start is 0.
    auto timer = std::make_shared<BootTimer>(BootTimer::StartPoint{opts.start_time, std::chrono::nanoseconds(0)});
    TRY(parts.mmio.insert(timer, layout::kBootTimerAddr, 0x1000));
  }
  return {};
}

// Puts one device on its planned window; `create` builds it with the registrar for its host
// fds. `*device` gets the device itself.
template <typename Device, typename Create>
Result<std::shared_ptr<VirtioMmioTransport>> add_virtio(VirtioManager& virtio, const VirtioDevicePlan& slot,
                                                        const Create& create, std::shared_ptr<Device>* device) {
  return virtio.add(slot, [&](EventRegistrar& events) -> Result<std::shared_ptr<VirtioDevice>> {
    ASSIGN_OR_RETURN(std::unique_ptr<Device> created, create(events));
    *device = std::move(created);
    return std::shared_ptr<VirtioDevice>(*device);
  });
}

// The plan's virtio devices, in its order: drives become virtio-block devices, network
// interfaces virtio-net devices on their taps, the vsock a virtio-vsock device.
// The MMDS's network stack on a virtio-net device, when the MMDS config names its interface.
Result<void> attach_mmds(VirtioNet& net, const NetworkInterfaceConfig& iface, const VmConfig& cfg,
                         MmdsService* mmds) {
  if (!cfg.mmds) return {};
  const auto& named = cfg.mmds->network_interfaces;
  if (std::find(named.begin(), named.end(), iface.iface_id) == named.end()) return {};
  if (mmds == nullptr) return make_error(ErrorKind::kInternal, "the MMDS config names " + iface.iface_id + " but no MMDS runs");
  net.set_detour(mmds->make_stack(cfg.mmds->ipv4_address.value_or(kDefaultMmdsIpv4)));
  return {};
}

Result<void> setup_virtio_devices(MicroVmParts& parts, const VmConfig& cfg, const VmPlan& plan, MmdsService* mmds) {
  for (const VirtioDevicePlan& slot : plan.virtio_devices) {
    switch (slot.kind) {
      case VirtioKind::kBlock: {
        const DriveConfig& drive = cfg.drives[slot.config_index];
        const VirtioBlockConfig bc = block_device_config(drive);
        auto create = [&bc](EventRegistrar& events) -> Result<std::unique_ptr<VirtioBlock>> {
          ASSIGN_OR_RETURN(std::unique_ptr<VirtioBlock> blk, VirtioBlock::create(bc, &events));
          if (blk->completion_fd() >= 0) TRY(events.watch(blk->completion_fd(), EPOLLIN, VirtioBlock::kCompletionEvent));
          return blk;
        };
        std::shared_ptr<VirtioBlock> block;
        TRY(add_virtio(*parts.virtio, slot, create, &block));
        parts.blocks[drive.drive_id] = std::move(block);
        break;
      }
      case VirtioKind::kNet: {
        const NetworkInterfaceConfig& iface = cfg.network_interfaces[slot.config_index];
        const VirtioNetConfig nc = net_device_config(iface);
        auto create = [&nc](EventRegistrar& events) { return VirtioNet::create(nc, events); };
        std::shared_ptr<VirtioNet> net;
        TRY(add_virtio(*parts.virtio, slot, create, &net));
        TRY(attach_mmds(*net, iface, cfg, mmds));
        parts.nets[iface.iface_id] = std::move(net);
        break;
      }
      case VirtioKind::kVsock: {
        const VirtioVsockConfig vc = vsock_device_config(*cfg.vsock);
        auto create = [&vc](EventRegistrar& events) { return VirtioVsock::create(vc, events); };
        ASSIGN_OR_RETURN(parts.vsock_transport, add_virtio(*parts.virtio, slot, create, &parts.vsock));
        break;
      }
    }
  }
  return {};
}

// `cpuid`: KVM's supported CPUID with the CPU template applied; normalized here per vCPU.
Result<void> configure_vcpu(const VcpuFd& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid, const MachineConfig& machine,
                            const CustomCpuTemplate& tmpl, EntryMode mode, uint64_t entry, uint64_t boot_info) {
  TRY(vcpu.set_cpuid(cpuid_for_vcpu(cpuid, vcpu.id(), machine.vcpu_count, machine.smt)));
  // The template's MSRs start from what KVM gives this vCPU (read after its CPUID is set, which
  // decides what exists); the boot MSRs come after them and win where both name one.
  std::vector<kvm_msr_entry> msrs;
  if (!tmpl.msr_modifiers.empty()) {
    std::vector<uint32_t> indices;
    for (const MsrModifier& m : tmpl.msr_modifiers) indices.push_back(m.addr);
    ASSIGN_OR_RETURN(std::vector<kvm_msr_entry> read, vcpu.get_msrs(indices));
    std::map<uint32_t, uint64_t> current;
    for (const kvm_msr_entry& e : read) current[e.index] = e.data;
    auto templated = apply_msr_template(current, tmpl);
    if (!templated) return with_context("Failed to create guest config", templated.error());
    msrs = std::move(templated).value();
  }
  for (const kvm_msr_entry& e : boot_msrs()) {
    std::erase_if(msrs, [&](const kvm_msr_entry& m) { return m.index == e.index; });
    msrs.push_back(e);
  }
  TRY(vcpu.set_msrs(msrs));
  TRY(vcpu.set_regs(boot_regs(mode, entry, boot_info)));
  ASSIGN_OR_RETURN(kvm_sregs sregs, vcpu.get_sregs());
  TRY(vcpu.set_sregs(boot_sregs(sregs, mode)));
  TRY(vcpu.set_fpu(boot_fpu()));
  ASSIGN_OR_RETURN(kvm_lapic_state lapic, vcpu.get_lapic());
  set_lint_vectors(&lapic);
  TRY(vcpu.set_lapic(lapic));
  return {};
}

// Loads the kernel (and initrd), writes the command line, ACPI tables and boot tables, and
// returns how the vCPUs enter the kernel.
struct KernelEntry {
  EntryMode mode;
  uint64_t entry;
  uint64_t boot_info_addr;
};

Result<KernelEntry> load_boot_image(const GuestMemory& mem, const VmConfig& cfg, const VmPlan& plan,
                                    const VirtioManager& virtio) {
  const BootSourceConfig& boot = *cfg.boot_source;
  auto image = read_file(boot.kernel_image_path, kMaxKernelFileSize);
  if (!image) return with_context("boot-source.kernel_image_path", image.error());
  auto kernel = load_kernel(mem, *image, boot.bzimage_load);
  if (!kernel) return with_context("kernel " + boot.kernel_image_path, kernel.error());
  log_info("kernel: " + kernel->description);

  BootInfo info{};
  info.memory_map = e820_map(mem);
  info.setup_header = kernel->setup_header;
  const KernelLimits limits = kernel_limits(kernel->setup_header);

  if (boot.initrd_path) {
    auto initrd = read_file(*boot.initrd_path, mem.total_size());
    if (!initrd) return with_context("boot-source.initrd_path", initrd.error());
    auto addr = place_initrd(mem, initrd->size(), kernel->image_end, limits.initrd_addr_max);
    if (!addr) return with_context("boot-source.initrd_path", addr.error());
    TRY(mem.write(*addr, *initrd));
    info.initrd = InitrdPlacement{*addr, initrd->size()};
  }

  const std::string cmdline = kernel_cmdline(boot, plan);
  auto cmdline_addr = write_cmdline(mem, cmdline, limits.cmdline_max);
  if (!cmdline_addr) return with_context("boot-source.boot_args", cmdline_addr.error());
  info.cmdline_addr = *cmdline_addr;
  info.cmdline_size = cmdline.size() + 1;

  AcpiConfig acpi{};
  acpi.vcpu_count = cfg.machine.vcpu_count;
  acpi.virtio_devices = virtio.acpi_devices();
  ASSIGN_OR_RETURN(info.rsdp_addr, write_acpi_tables(mem, acpi));

  const bool pvh = kernel->protocol == BootProtocol::kPvh;
  KernelEntry entry{pvh ? EntryMode::kProtected32 : EntryMode::kLong64, kernel->entry, 0};
  TRY(write_boot_tables(mem, entry.mode));
  if (pvh) {
    ASSIGN_OR_RETURN(entry.boot_info_addr, write_pvh_start_info(mem, info));
  } else {
    ASSIGN_OR_RETURN(entry.boot_info_addr, write_zero_page(mem, info));
  }
  return entry;
}

}  // namespace

Result<std::unique_ptr<MicroVmParts>> assemble_vm(const VmConfig& config, const VmPlan& plan,
                                                  const VmOptions& options, EventLoop& loop, ExitSignal& exit,
                                                  int memory_fd) {
  auto parts = std::make_unique<MicroVmParts>();
  parts->vcpu_thread_prefix = options.vcpu_thread_prefix;
  TRY(setup_kvm(*parts));
  TRY(setup_memory(*parts, plan.memory_regions, memory_fd, config.machine.track_dirty_pages));
  TRY(setup_legacy_devices(*parts, options, exit));
  parts->virtio = std::make_unique<VirtioManager>(*parts->vm_fd, *parts->memory, parts->mmio, loop);
  TRY(setup_virtio_devices(*parts, config, plan, options.mmds));
  parts->pio.freeze();
  parts->mmio.freeze();
  return parts;
}

Result<void> add_vcpus(MicroVmParts& parts, ExitSignal& exit, uint32_t count,
                       const std::function<Result<void>(const VcpuFd&)>& set_up) {
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(VcpuFd fd, parts.vm_fd->create_vcpu(i));
    TRY(set_up(fd));
    std::string name = parts.vcpu_thread_prefix + std::to_string(i);
    parts.vcpus.push_back(std::make_unique<Vcpu>(std::move(fd), parts.pio, parts.mmio, exit, std::move(name)));
  }
  return {};
}

Result<std::unique_ptr<Vm>> build_vm(const VmOptions& options, EventLoop& loop, ExitSignal& exit) {
  const VmConfig& cfg = options.config;
  if (!cfg.boot_source) return make_error("no boot-source given: a kernel is required");
  TRY(validate_machine_config(cfg.machine, host_memory_bytes()));
  ASSIGN_OR_RETURN(const VmPlan plan, plan_vm(cfg));
  // The CPU template first: a static one that does not fit this host refuses InstanceStart before
  // anything is built (Firecracker: "Failed to get CPU template: ...").
  ASSIGN_OR_RETURN(const CustomCpuTemplate tmpl,
                   resolve_cpu_template(cfg.machine.cpu_template, cfg.cpu_config ? &*cfg.cpu_config : nullptr,
                                        host_cpu()));
  ASSIGN_OR_RETURN(std::unique_ptr<MicroVmParts> parts, assemble_vm(cfg, plan, options, loop, exit, -1));
  for (uint32_t cap : added_kvm_capabilities(tmpl)) {
    ASSIGN_OR_RETURN(int supported_cap, parts->kvm->check_extension(static_cast<int>(cap)));
    if (supported_cap <= 0) return make_error(ErrorKind::kHost, "Missing KVM capabilities: " + hex_u32(cap));
  }
  ASSIGN_OR_RETURN(const KernelEntry kernel, load_boot_image(*parts->memory, cfg, plan, *parts->virtio));

  ASSIGN_OR_RETURN(auto supported, parts->kvm->supported_cpuid());
  auto cpuid = apply_cpuid_template(supported, tmpl);
  if (!cpuid) return with_context("Failed to create guest config", cpuid.error());
  const uint32_t count = cfg.machine.vcpu_count;
  TRY(add_vcpus(*parts, exit, count, [&](const VcpuFd& fd) -> Result<void> {
    auto r = configure_vcpu(fd, *cpuid, cfg.machine, tmpl, kernel.mode, kernel.entry, kernel.boot_info_addr);
    if (!r) return with_context("vCPU " + std::to_string(fd.id()), r.error());
    return {};
  }));
  return std::unique_ptr<Vm>(std::make_unique<MicroVm>(loop, cfg, std::move(parts), options.console_in_fd));
}

}  // namespace ember
