// The controller's vocabulary. VmmAction: what the front ends (the API server, the config file,
// ember's flags) ask, a request routed and with its body parsed and validated
// (api/request_parser.h makes them); one struct per endpoint and method of
// firecracker-api-v1.16.1.yaml that ember serves. ActionResult: what the controller answers, a
// typed value or an error with a kind; each front end turns it into its own output (the API an
// HTTP reply, the config file a line on stderr).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "config/cpu_template.h"
#include "config/models.h"
#include "config/vm_config.h"

namespace ember {

// GET /
struct GetInstanceInfo {};
// GET /version
struct GetVersion {};
// GET /machine-config
struct GetMachineConfig {};
// PUT /machine-config: the whole configuration; absent optional fields take their defaults.
// vcpu_count is within [1, kMaxVcpus] and mem_size_mib at least 1 (the VMM still checks the
// host's memory and what it supports, with validate_machine_config).
// cpu_template, not config.cpu_template, carries the body's field, as Firecracker treats it: absent
// keeps the CPU template (static or custom) already set, "None" clears it, a name sets it.
struct PutMachineConfig {
  MachineConfig config;
  std::optional<StaticCpuTemplate> cpu_template = std::nullopt;
};
// PATCH /machine-config: only the fields the body names (at least one was named; a body that
// names only huge_pages "None" leaves every field here empty).
struct PatchMachineConfig {
  std::optional<uint32_t> vcpu_count;
  std::optional<uint64_t> mem_size_mib;
  std::optional<bool> smt;
  std::optional<bool> track_dirty_pages;
  std::optional<StaticCpuTemplate> cpu_template = std::nullopt;  // as in PutMachineConfig
};
// PUT /boot-source
struct PutBootSource {
  BootSourceConfig config;
};
// PUT /drives/{drive_id}: config.drive_id equals the id in the path.
struct PutDrive {
  DriveConfig config;
};
// PATCH /drives/{drive_id}: at least one of the two updates is present.
struct PatchDrive {
  std::string drive_id;
  std::optional<std::string> path_on_host;
  std::optional<RateLimiterConfig> rate_limiter;
};
// PUT /network-interfaces/{iface_id}: config.iface_id equals the id in the path.
struct PutNetworkInterface {
  NetworkInterfaceConfig config;
};
// PATCH /network-interfaces/{iface_id}: at least one of the two limiters is present.
struct PatchNetworkInterface {
  std::string iface_id;
  std::optional<RateLimiterConfig> rx_rate_limiter;
  std::optional<RateLimiterConfig> tx_rate_limiter;
};
// PUT /vsock
struct PutVsock {
  VsockConfig config;
};
// PUT /actions {"action_type": ...}
struct InstanceStart {};
struct SendCtrlAltDel {};
struct FlushMetrics {};
// PATCH /vm
struct PatchVm {
  RequestedVmState state = RequestedVmState::kPaused;
};
// GET /vm/config
struct GetVmConfig {};
// PUT /logger
struct PutLogger {
  LoggerConfig config;
};
// PUT /metrics
struct PutMetrics {
  MetricsConfig config;
};
// PUT /snapshot/create
struct CreateSnapshot {
  SnapshotCreateParams params;
};
// PUT /snapshot/load
struct LoadSnapshot {
  SnapshotLoadParams params;
};
// PUT /cpu-config: a custom CPU template, before InstanceStart; replaces a static cpu_template.
struct PutCpuConfig {
  CustomCpuTemplate config;
};

// PUT /mmds: the data store's new content (any JSON value).
struct PutMmds {
  nlohmann::json data;
};
// PATCH /mmds: an RFC 7396 merge patch of the data store.
struct PatchMmds {
  nlohmann::json patch;
};
// GET /mmds
struct GetMmds {};
// PUT /mmds/config: before InstanceStart; the interfaces are checked by the controller.
struct PutMmdsConfig {
  MmdsConfig config;
};

using VmmAction =
    std::variant<GetInstanceInfo, GetVersion, GetMachineConfig, PutMachineConfig, PatchMachineConfig,
                 PutBootSource, PutDrive, PatchDrive, PutNetworkInterface, PatchNetworkInterface,
                 PutVsock, InstanceStart, SendCtrlAltDel, FlushMetrics, PatchVm, GetVmConfig,
                 PutLogger, PutMetrics, CreateSnapshot, LoadSnapshot, PutCpuConfig, PutMmds, PatchMmds,
                 GetMmds, PutMmdsConfig>;

// The struct's name ("PutDrive"), for logs.
[[nodiscard]] std::string_view action_name(const VmmAction& action);

// definitions/InstanceInfo (GET /). app_name is always "ember".
struct InstanceInfo {
  std::string id;
  InstanceState state = InstanceState::kNotStarted;
  std::string vmm_version;
};

// definitions/FirecrackerVersion (GET /version).
struct VmmVersion {
  std::string version;
};

// definitions/FullVmConfiguration (GET /vm/config): what the VM is configured with.
struct FullVmConfig {
  std::optional<BootSourceConfig> boot_source;
  MachineConfig machine;
  std::vector<DriveConfig> drives;
  std::vector<NetworkInterfaceConfig> network_interfaces;
  std::optional<VsockConfig> vsock;
  std::optional<MmdsConfig> mmds;
  // No logger or metrics: Firecracker's GET /vm/config prints both as null, always.
};

// What an action that succeeded gives back: nothing (std::monostate), or what a GET asked for.
// GET /mmds: the data store's content as compact JSON text (MmdsDataStore::text(), written
// without recursion; a JSON value in this variant also trips GCC 12's -Wmaybe-uninitialized
// at -O3).
struct MmdsContent {
  std::string json;
};
using ActionOutput = std::variant<std::monostate, InstanceInfo, VmmVersion, MachineConfig, FullVmConfig, MmdsContent>;
using ActionResult = Result<ActionOutput>;

// What a front end hands its actions to.
class ActionHandler {
 public:
  virtual ~ActionHandler() = default;
  // Runs one action and says how it went. May block (the API thread waits for the VMM thread).
  [[nodiscard]] virtual ActionResult handle(const VmmAction& action) = 0;
};

}  // namespace ember
