// The VM's configuration, as given by Firecracker's config-file keys (and later the API).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/models.h"
#include "vmm/util/result.h"
#include "vmm/x86_64/loader/kernel_loader.h"

namespace ember {

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
  bool smt = false;
  bool track_dirty_pages = false;
};

struct VmConfig {
  std::optional<BootSourceConfig> boot_source;
  MachineConfig machine;
  std::vector<DriveConfig> drives;  // in the order given; the root device becomes /dev/vda
  std::vector<NetworkInterfaceConfig> network_interfaces;
  std::optional<VsockConfig> vsock;
};

inline constexpr uint32_t kMaxVcpus = 32;
inline constexpr const char* kDefaultBootArgs =
    "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd";

// The two sections on their own (the API's PUT /boot-source and PUT /machine-config bodies
// have the same shape). Errors name the key.
[[nodiscard]] Result<BootSourceConfig> parse_boot_source(const nlohmann::json& obj);
[[nodiscard]] Result<MachineConfig> parse_machine_config(const nlohmann::json& obj);

// Drive and interface ids end up in file names, metrics keys and log lines: 1 to 64 letters,
// digits or underscores.
[[nodiscard]] bool is_valid_device_id(std::string_view id);

// Physical memory plus swap of this host: the most guest memory a VM may ask for.
[[nodiscard]] uint64_t host_memory_bytes();

// Checks a machine config against fixed limits and this host's memory.
[[nodiscard]] Result<void> validate_machine_config(const MachineConfig& m, uint64_t host_mem_bytes);

}  // namespace ember
