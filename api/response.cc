#include "api/response.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "mmds/ipv4_address.h"

namespace ember {
namespace {

// Keys in the order the yaml lists them, which is also the order a reader expects.
using json = nlohmann::ordered_json;

// Strings that came from requests are valid UTF-8 (the JSON parser checks), but ids from a
// path or messages quoting raw bytes may not be: replace bad bytes rather than throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

template <class T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// Firecracker prints an unset (zero) one_time_burst as null (TokenBucketConfig from a TokenBucket).
json token_bucket_json(const TokenBucketConfig& b) {
  return json{{"size", b.size},
              {"one_time_burst", b.one_time_burst == 0 ? json(nullptr) : json(b.one_time_burst)},
              {"refill_time", b.refill_time_ms}};
}

json rate_limiter_json(const std::optional<RateLimiterConfig>& limiter) {
  if (!limiter) return nullptr;
  json j = json::object();
  j["bandwidth"] = limiter->bandwidth ? token_bucket_json(*limiter->bandwidth) : json(nullptr);
  j["ops"] = limiter->ops ? token_bucket_json(*limiter->ops) : json(nullptr);
  return j;
}

json machine_config_object(const MachineConfig& m) {
  json j{{"vcpu_count", m.vcpu_count}, {"mem_size_mib", m.mem_size_mib}, {"smt", m.smt}};
  // As Firecracker: cpu_template only when a static template is set (not for None or a custom one).
  if (m.cpu_template != StaticCpuTemplate::kNone) j["cpu_template"] = static_cpu_template_name(m.cpu_template);
  j["track_dirty_pages"] = m.track_dirty_pages;
  j["huge_pages"] = "None";
  return j;
}

json boot_source_object(const BootSourceConfig& b) {
  json j{{"kernel_image_path", b.kernel_image_path},
         {"initrd_path", or_null(b.initrd_path)},
         {"boot_args", or_null(b.boot_args)}};
  // ember's extension, shown only when it is not the default.
  if (b.bzimage_load == BzImageMode::kHost) j["bzimage_load"] = "host";
  if (b.bzimage_load == BzImageMode::kGuest) j["bzimage_load"] = "guest";
  return j;
}

json drive_object(const DriveConfig& d) {
  return json{{"drive_id", d.drive_id},
              {"partuuid", or_null(d.partuuid)},
              {"is_root_device", d.is_root_device},
              {"cache_type", d.cache_type == DriveCacheType::kUnsafe ? "Unsafe" : "Writeback"},
              {"is_read_only", d.is_read_only},
              {"path_on_host", d.path_on_host},
              {"rate_limiter", rate_limiter_json(d.rate_limiter)},
              {"io_engine", d.io_engine == DriveIoEngine::kSync ? "Sync" : "Async"},
              // A vhost-user drive's socket: ember has none, and Firecracker prints null.
              {"socket", nullptr}};
}

json network_interface_object(const NetworkInterfaceConfig& n) {
  json j{{"iface_id", n.iface_id},
         {"host_dev_name", n.host_dev_name},
         {"guest_mac", n.guest_mac ? json(format_mac_address(*n.guest_mac)) : json(nullptr)}};
  j["mtu"] = or_null(n.mtu);
  j["rx_rate_limiter"] = rate_limiter_json(n.rx_rate_limiter);
  j["tx_rate_limiter"] = rate_limiter_json(n.tx_rate_limiter);
  return j;
}

// Firecracker's MmdsConfig as its VmResources::mmds_config() reports it: the address in use
// (the default when none was given).
json mmds_config_object(const MmdsConfig& m) {
  json j = json::object();
  j["version"] = m.version == MmdsVersion::kV2 ? "V2" : "V1";
  j["network_interfaces"] = m.network_interfaces;
  j["ipv4_address"] = to_string(m.ipv4_address.value_or(kDefaultMmdsIpv4));
  j["imds_compat"] = m.imds_compat;
  return j;
}

json vsock_object(const VsockConfig& v) { return json{{"guest_cid", v.guest_cid}, {"uds_path", v.uds_path}}; }

}  // namespace

std::string_view instance_state_name(InstanceState state) {
  switch (state) {
    case InstanceState::kNotStarted: return "Not started";
    case InstanceState::kRunning: return "Running";
    case InstanceState::kPaused: return "Paused";
  }
  return "Not started";
}

std::string format_mac_address(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return text;
}

std::string instance_info_json(const InstanceInfo& info) {
  return dump(json{{"id", info.id},
                   {"state", instance_state_name(info.state)},
                   {"vmm_version", info.vmm_version},
                   {"app_name", "ember"}});
}

std::string version_json(std::string_view version) { return dump(json{{"firecracker_version", version}}); }

std::string machine_config_json(const MachineConfig& config) { return dump(machine_config_object(config)); }

std::string vm_config_json(const FullVmConfig& c) {
  json drives = json::array();
  for (const DriveConfig& d : c.drives) drives.push_back(drive_object(d));
  json interfaces = json::array();
  for (const NetworkInterfaceConfig& n : c.network_interfaces) interfaces.push_back(network_interface_object(n));
  // Firecracker's VmmConfig, keys in its order. It prints the boot source even when none is
  // configured (its default: an empty kernel path), and logger and metrics always as null (it
  // keeps neither, however they were configured); the devices ember does not have are null or [].
  json j = json::object();
  j["balloon"] = nullptr;
  j["drives"] = std::move(drives);
  j["boot-source"] = boot_source_object(c.boot_source.value_or(BootSourceConfig{}));
  j["cpu-config"] = nullptr;
  j["logger"] = nullptr;
  j["machine-config"] = machine_config_object(c.machine);
  j["metrics"] = nullptr;
  j["mmds-config"] = c.mmds ? mmds_config_object(*c.mmds) : json(nullptr);
  j["network-interfaces"] = std::move(interfaces);
  j["vsock"] = c.vsock ? vsock_object(*c.vsock) : json(nullptr);
  j["entropy"] = nullptr;
  j["pmem"] = json::array();
  j["memory-hotplug"] = nullptr;
  return dump(j);
}

std::string fault_json(std::string_view message) { return dump(json{{"fault_message", message}}); }

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kTooLarge: return 413;
    case ErrorKind::kInvalid:
    case ErrorKind::kState:
    case ErrorKind::kHost: return 400;
  }
  return 500;
}

ApiReply to_reply(const ActionResult& result) {
  if (!result) return reply_error(result.error().message, http_status(result.error().kind));
  struct Body {
    ApiReply operator()(std::monostate) const { return reply_no_content(); }
    ApiReply operator()(const InstanceInfo& v) const { return reply_json(instance_info_json(v)); }
    ApiReply operator()(const VmmVersion& v) const { return reply_json(version_json(v.version)); }
    ApiReply operator()(const MachineConfig& v) const { return reply_json(machine_config_json(v)); }
    ApiReply operator()(const FullVmConfig& v) const { return reply_json(vm_config_json(v)); }
    // Firecracker answers an empty store with {} (its success_response_with_mmds_value).
    ApiReply operator()(const MmdsContent& v) const { return reply_json(v.json.empty() ? "{}" : v.json); }
  };
  return std::visit(Body{}, *result);
}

ApiReply reply_no_content() { return ApiReply{204, ""}; }

ApiReply reply_json(std::string json_body) { return ApiReply{200, std::move(json_body)}; }

ApiReply reply_error(std::string_view message, int status) { return ApiReply{status, fault_json(message)}; }

}  // namespace ember
