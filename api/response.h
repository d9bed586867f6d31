// The JSON bodies of the API's answers, as firecracker-api-v1.16.1.yaml defines them, built
// from plain structs the VMM fills in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_handler.h"
#include "config/models.h"
#include "config/vm_config.h"

namespace ember {

// definitions/InstanceInfo (GET /). app_name is always "ember".
struct InstanceInfo {
  std::string id;
  InstanceState state = InstanceState::kNotStarted;
  std::string vmm_version;
};

// definitions/FullVmConfiguration (GET /vm/config): what the VM is configured with.
struct FullVmConfig {
  std::optional<BootSourceConfig> boot_source;
  MachineConfig machine;
  std::vector<DriveConfig> drives;
  std::vector<NetworkInterfaceConfig> network_interfaces;
  std::optional<VsockConfig> vsock;
  std::optional<LoggerConfig> logger;
  std::optional<MetricsConfig> metrics;
};

[[nodiscard]] std::string instance_info_json(const InstanceInfo& info);
// definitions/FirecrackerVersion: {"firecracker_version": version}.
[[nodiscard]] std::string version_json(std::string_view version);
// definitions/MachineConfiguration (GET /machine-config).
[[nodiscard]] std::string machine_config_json(const MachineConfig& config);
[[nodiscard]] std::string vm_config_json(const FullVmConfig& config);
// definitions/Error: {"fault_message": message}.
[[nodiscard]] std::string fault_json(std::string_view message);

// "Not started", "Running", "Paused".
[[nodiscard]] std::string_view instance_state_name(InstanceState state);
// "02:fc:00:00:00:05".
[[nodiscard]] std::string format_mac_address(const MacAddress& mac);

[[nodiscard]] ApiReply reply_no_content();
[[nodiscard]] ApiReply reply_json(std::string json_body);
[[nodiscard]] ApiReply reply_error(std::string_view message, int status = 400);

}  // namespace ember
