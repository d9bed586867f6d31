// What building a VM decides from its configuration alone, before any KVM object exists: where
// guest RAM goes, which virtio device gets which MMIO window and interrupt in which order, and
// what the kernel command line gets added. Pure functions, so the decisions are unit-tested
// without /dev/kvm; vm_builder.cc and vm_restore.cc carry them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/vm_config.h"
#include "memory/guest_memory.h"

namespace ember {

enum class VirtioKind { kBlock, kNet, kVsock };

// One virtio device's place on the VM.
struct VirtioDevicePlan {
  VirtioKind kind;
  // Which entry of VmConfig::drives or VmConfig::network_interfaces it is built from (0 for
  // the vsock device, VmConfig::vsock).
  size_t config_index;
  // "drive rootfs", "net eth0", "vsock": names the device in errors and logs, and matches it
  // with its saved state in a snapshot.
  std::string id;
  uint64_t mmio_base;
  uint64_t mmio_size;
  uint32_t gsi;
  bool operator==(const VirtioDevicePlan&) const = default;
};

struct VmPlan {
  std::vector<MemoryRegionSpec> memory_regions;
  // In attach order, which is also the order the guest numbers them in (the DSDT lists them
  // so) and the order a snapshot saves them in: drives (the root device first, so the guest
  // sees it as /dev/vda), then network interfaces as given, then vsock.
  std::vector<VirtioDevicePlan> virtio_devices;
  // The root= argument Firecracker adds for a root device ("root=/dev/vda rw",
  // "root=PARTUUID=... ro"); empty without one.
  std::string root_arg;
};

// Fails when more than one drive is the root device or the devices outnumber the IOAPIC's
// free pins.
[[nodiscard]] Result<VmPlan> plan_vm(const VmConfig& config);

// The command line the guest kernel gets: the boot source's boot_args (Firecracker's defaults
// without them) and the plan's root= argument.
[[nodiscard]] std::string kernel_cmdline(const BootSourceConfig& boot, const VmPlan& plan);

// What the kernel's setup header allows (boot.rst): the highest address an initrd may occupy
// and the longest command line, NUL included. Without a header (an ELF or PVH kernel) the
// command line gets ember's whole command line area; a field the header is too short to hold
// takes the old protocols' value (a 255-character command line) or 0x7fffffff.
struct KernelLimits {
  uint64_t initrd_addr_max;
  uint64_t cmdline_max;
  bool operator==(const KernelLimits&) const = default;
};
[[nodiscard]] KernelLimits kernel_limits(std::span<const uint8_t> setup_header);

}  // namespace ember
