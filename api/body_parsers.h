// Parsers for the JSON bodies of the API's requests, one per definition of
// firecracker-api-v1.16.1.yaml that ember accepts; the config file's sections are the same
// bodies. Each takes the body's parsed JSON (any value: a non-object is an error), reads its
// fields through JsonFields (json_fields.h, whose rules they all share: null is absent, unknown
// fields and wrong types are refused), checks ranges, and names the offending field in its
// error. Internal to api/: request_parser.h and config_file.h are the interface.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "vmm/controller/action.h"
#include "config/models.h"
#include "config/vm_config.h"
#include "base/result.h"

namespace ember::api_detail {

[[nodiscard]] Result<PutMachineConfig> parse_put_machine_config(const nlohmann::json& body);
[[nodiscard]] Result<PatchMachineConfig> parse_patch_machine_config(const nlohmann::json& body);
[[nodiscard]] Result<BootSourceConfig> parse_put_boot_source(const nlohmann::json& body);
[[nodiscard]] Result<DriveConfig> parse_drive(const nlohmann::json& body);
[[nodiscard]] Result<PatchDrive> parse_partial_drive(const nlohmann::json& body);
[[nodiscard]] Result<NetworkInterfaceConfig> parse_network_interface(const nlohmann::json& body);
[[nodiscard]] Result<PatchNetworkInterface> parse_partial_network_interface(const nlohmann::json& body);
[[nodiscard]] Result<VsockConfig> parse_vsock(const nlohmann::json& body);
// PUT /mmds/config, the config file's "mmds-config".
[[nodiscard]] Result<MmdsConfig> parse_mmds_config(const nlohmann::json& body);
[[nodiscard]] Result<VmmAction> parse_instance_action(const nlohmann::json& body);
[[nodiscard]] Result<RequestedVmState> parse_vm_state(const nlohmann::json& body);
[[nodiscard]] Result<LoggerConfig> parse_logger(const nlohmann::json& body);
[[nodiscard]] Result<MetricsConfig> parse_metrics(const nlohmann::json& body);
[[nodiscard]] Result<SnapshotCreateParams> parse_snapshot_create(const nlohmann::json& body);
[[nodiscard]] Result<SnapshotLoadParams> parse_snapshot_load(const nlohmann::json& body);

// "02:fc:00:00:00:05" (hex digits of either case, six colon-separated pairs); nullopt otherwise.
[[nodiscard]] std::optional<MacAddress> parse_mac_address(std::string_view text);

}  // namespace ember::api_detail
