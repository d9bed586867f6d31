// The VM's configuration: plain structs, no JSON (api/ reads and prints them). The API, the
// config file, the controller and snapshots all hold a VmConfig.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cpu_template.h"
#include "config/models.h"
#include "base/result.h"

namespace ember {

// How a bzImage's compressed payload is handled.
//  kHost:  decompress on the host and load the ELF vmlinux inside (fast: no in-guest decompressor).
//  kGuest: load the protected-mode kernel as boot loaders do and let its decompressor run.
//  kAuto:  kHost, falling back to kGuest (with a warning) only when no host decoder exists for
//          the payload's format; a corrupt payload is an error either way.
enum class BzImageMode { kAuto, kHost, kGuest };

struct BootSourceConfig {
  std::string kernel_image_path;
  std::optional<std::string> boot_args;
  std::optional<std::string> initrd_path;
  // ember extension: where a bzImage's payload is decompressed ("auto", "host", "guest").
  BzImageMode bzimage_load = BzImageMode::kAuto;
};

struct MachineConfig {
  uint32_t vcpu_count = 1;
  uint64_t mem_size_mib = 128;
  // Two threads per core in the guest's CPUID topology (vcpu_count then 1 or even).
  bool smt = false;
  bool track_dirty_pages = false;
  // machine-config.cpu_template (deprecated in Firecracker, still honoured): checked against the
  // host CPU and applied at InstanceStart. kNone while a custom template (VmConfig::cpu_config)
  // is set: the two share one slot, the later request wins.
  StaticCpuTemplate cpu_template = StaticCpuTemplate::kNone;
};

struct VmConfig {
  std::optional<BootSourceConfig> boot_source;
  MachineConfig machine;
  std::vector<DriveConfig> drives;  // in the order given; the root device becomes /dev/vda
  std::vector<NetworkInterfaceConfig> network_interfaces;
  std::optional<VsockConfig> vsock;
  // PUT /cpu-config (custom CPU template); applied at InstanceStart.
  std::optional<CustomCpuTemplate> cpu_config;
  // PUT /mmds/config: the interfaces named answer the metadata service. (The data store is
  // not configuration: it lives beside the VM, and a snapshot does not keep it.)
  std::optional<MmdsConfig> mmds;
};

inline constexpr uint32_t kMaxVcpus = 32;
inline constexpr const char* kDefaultBootArgs =
    "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd";

// Drive and interface ids end up in file names, metrics keys and log lines: 1 to 64 letters,
// digits or underscores.
[[nodiscard]] bool is_valid_device_id(std::string_view id);

// Physical memory plus swap of this host: the most guest memory a VM may ask for.
[[nodiscard]] uint64_t host_memory_bytes();

// Checks a machine config against fixed limits and this host's memory.
[[nodiscard]] Result<void> validate_machine_config(const MachineConfig& m, uint64_t host_mem_bytes);

}  // namespace ember
