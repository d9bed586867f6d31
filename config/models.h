// The configuration objects of the API, as Firecracker's swagger definitions describe them
// (firecracker-api-v1.16.1.yaml, section `definitions`), after parsing and validation: every
// value here is in range, every id is a valid id, every path is a non-empty string with no NUL.
// The same structs describe what the VMM reports back (GET /vm/config).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ember {

// definitions/TokenBucket: `size` tokens, refilled completely every `refill_time_ms`, plus a
// one-time initial budget. A bucket with size 0 or refill time 0 limits nothing.
struct TokenBucketConfig {
  uint64_t size = 0;
  uint64_t one_time_burst = 0;
  uint64_t refill_time_ms = 0;
};

// definitions/RateLimiter: independent limits on bytes and on operations; either may be absent.
struct RateLimiterConfig {
  std::optional<TokenBucketConfig> bandwidth;
  std::optional<TokenBucketConfig> ops;
};

// definitions/Drive (the virtio-block variant; vhost-user-block is not supported).
enum class DriveCacheType { kUnsafe, kWriteback };
enum class DriveIoEngine { kSync, kAsync };

struct DriveConfig {
  std::string drive_id;
  std::string path_on_host;
  bool is_root_device = false;
  bool is_read_only = false;
  // Only hex digits and '-': it lands on the guest's kernel command line as root=PARTUUID=.
  std::optional<std::string> partuuid;
  DriveCacheType cache_type = DriveCacheType::kUnsafe;
  DriveIoEngine io_engine = DriveIoEngine::kSync;
  std::optional<RateLimiterConfig> rate_limiter;
};

using MacAddress = std::array<uint8_t, 6>;

// definitions/NetworkInterface.
struct NetworkInterfaceConfig {
  std::string iface_id;
  std::string host_dev_name;  // a Linux interface name: 1 to 15 bytes
  std::optional<MacAddress> guest_mac;
  std::optional<uint16_t> mtu;  // 68 to 65535
  std::optional<RateLimiterConfig> rx_rate_limiter;
  std::optional<RateLimiterConfig> tx_rate_limiter;
};

// definitions/MmdsConfig (PUT /mmds/config): which interfaces answer the metadata service and
// how. V1 is Firecracker's default.
enum class MmdsVersion { kV1, kV2 };
using Ipv4Octets = std::array<uint8_t, 4>;
struct MmdsConfig {
  MmdsVersion version = MmdsVersion::kV1;
  std::vector<std::string> network_interfaces;  // iface_ids; at least one
  std::optional<Ipv4Octets> ipv4_address;       // absent: 169.254.169.254
  bool imds_compat = false;                     // always answer in IMDS format
  bool operator==(const MmdsConfig&) const = default;
};

// definitions/Vsock. CIDs 0 to 2 are reserved (hypervisor, local, host), and 2^32-1 is
// VMADDR_CID_ANY, so a guest CID is 3 to 2^32-2.
struct VsockConfig {
  uint32_t guest_cid = 3;
  std::string uds_path;
  std::optional<std::string> vsock_id;  // deprecated in the yaml; kept only to report it back
};

// definitions/Logger. Every field is optional: a PUT /logger changes only what it names.
enum class LoggerLevel { kError, kWarning, kInfo, kDebug, kTrace, kOff };

struct LoggerConfig {
  std::optional<std::string> log_path;
  std::optional<LoggerLevel> level;
  std::optional<bool> show_level;
  std::optional<bool> show_log_origin;
  std::optional<std::string> module;
};

// definitions/Metrics.
struct MetricsConfig {
  std::string metrics_path;
};

// definitions/SnapshotCreateParams.
enum class SnapshotType { kFull, kDiff };

struct SnapshotCreateParams {
  SnapshotType snapshot_type = SnapshotType::kFull;
  std::string snapshot_path;
  std::string mem_file_path;
};

// definitions/MemoryBackend. The deprecated `mem_file_path` of a load request arrives here
// as {kFile, path}.
enum class MemBackendType { kFile, kUffd };

struct MemBackend {
  MemBackendType backend_type = MemBackendType::kFile;
  std::string backend_path;
};

// definitions/NetworkOverride and definitions/VsockOverride.
struct NetworkOverride {
  std::string iface_id;
  std::string host_dev_name;
};

struct VsockOverride {
  std::string uds_path;
};

// definitions/SnapshotLoadParams. `track_dirty_pages` is also set by the deprecated
// `enable_diff_snapshots`.
struct SnapshotLoadParams {
  std::string snapshot_path;
  MemBackend mem_backend;
  bool track_dirty_pages = false;
  bool resume_vm = false;
  bool clock_realtime = false;
  std::vector<NetworkOverride> network_overrides;  // at most one per iface_id
  std::optional<VsockOverride> vsock_override;
};

// definitions/InstanceInfo.state.
enum class InstanceState { kNotStarted, kRunning, kPaused };

// definitions/Vm.state: what PATCH /vm asks for.
enum class RequestedVmState { kPaused, kResumed };

}  // namespace ember
