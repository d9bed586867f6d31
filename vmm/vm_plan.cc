#include "vmm/vm_plan.h"

#include <cstring>

#include "vmm/x86_64/layout.h"
#include "vmm/x86_64/memory_map.h"

namespace ember {
namespace {

// boot.rst: cmdline_size is at setup header offset 0x238 - 0x1f1, initrd_addr_max at 0x22c.
constexpr size_t kSetupHeaderCmdlineSizeOffset = 0x238 - 0x1f1;
constexpr size_t kSetupHeaderInitrdAddrMaxOffset = 0x22c - 0x1f1;
constexpr uint64_t kDefaultInitrdAddrMax = 0x7fffffff;

uint32_t read_u32(std::span<const uint8_t> bytes, size_t off, uint32_t fallback) {
  if (bytes.size() < off + 4) return fallback;
  uint32_t v;
  std::memcpy(&v, bytes.data() + off, 4);
  return v;
}

// Drives in attach order: the root device first, the others as given.
Result<std::vector<size_t>> drive_order(const std::vector<DriveConfig>& drives) {
  std::vector<size_t> order;
  for (size_t i = 0; i < drives.size(); ++i)
    if (drives[i].is_root_device) order.push_back(i);
  if (order.size() > 1) return make_error("drives: more than one drive has is_root_device set");
  for (size_t i = 0; i < drives.size(); ++i)
    if (!drives[i].is_root_device) order.push_back(i);
  return order;
}

std::string root_arg(const DriveConfig& root) {
  std::string arg = root.partuuid ? "root=PARTUUID=" + *root.partuuid : std::string("root=/dev/vda");
  arg += root.is_read_only ? " ro" : " rw";
  return arg;
}

// The next device's window and GSI: one 4 KiB window each from kVirtioMmioStart, one GSI each
// from kFirstDeviceGsi, as far as the IOAPIC has pins.
Result<void> add_device(VmPlan& plan, VirtioKind kind, size_t config_index, std::string id) {
  const uint64_t index = plan.virtio_devices.size();
  const uint32_t gsi = layout::kFirstDeviceGsi + static_cast<uint32_t>(index);
  if (gsi >= layout::kIoapicPins)
    return make_error(id + ": too many virtio devices (at most " +
                      std::to_string(layout::kIoapicPins - layout::kFirstDeviceGsi) + ")");
  const uint64_t base = layout::kVirtioMmioStart + index * layout::kVirtioMmioWindow;
  plan.virtio_devices.push_back({kind, config_index, std::move(id), base, layout::kVirtioMmioWindow, gsi});
  return {};
}

}  // namespace

Result<VmPlan> plan_vm(const VmConfig& config) {
  VmPlan plan;
  plan.memory_regions = ram_regions_for(config.machine.mem_size_mib << 20);
  ASSIGN_OR_RETURN(std::vector<size_t> drives, drive_order(config.drives));
  for (size_t i : drives) {
    const DriveConfig& d = config.drives[i];
    TRY(add_device(plan, VirtioKind::kBlock, i, "drive " + d.drive_id));
    if (d.is_root_device) plan.root_arg = root_arg(d);
  }
  for (size_t i = 0; i < config.network_interfaces.size(); ++i)
    TRY(add_device(plan, VirtioKind::kNet, i, "net " + config.network_interfaces[i].iface_id));
  if (config.vsock) TRY(add_device(plan, VirtioKind::kVsock, 0, "vsock"));
  return plan;
}

std::string kernel_cmdline(const BootSourceConfig& boot, const VmPlan& plan) {
  std::string cmdline = boot.boot_args.value_or(kDefaultBootArgs);
  if (!plan.root_arg.empty()) cmdline += " " + plan.root_arg;
  return cmdline;
}

KernelLimits kernel_limits(std::span<const uint8_t> setup_header) {
  KernelLimits limits;
  limits.initrd_addr_max = read_u32(setup_header, kSetupHeaderInitrdAddrMaxOffset, kDefaultInitrdAddrMax);
  limits.cmdline_max = setup_header.empty()
                           ? layout::kCmdlineMaxSize
                           : uint64_t{read_u32(setup_header, kSetupHeaderCmdlineSizeOffset, 255)} + 1;
  return limits;
}

}  // namespace ember
