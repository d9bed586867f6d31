#include "api/response.h"

#include <nlohmann/json.hpp>

#include <cstdio>

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

json token_bucket_json(const TokenBucketConfig& b) {
  return json{{"size", b.size}, {"one_time_burst", b.one_time_burst}, {"refill_time", b.refill_time_ms}};
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
              {"io_engine", d.io_engine == DriveIoEngine::kSync ? "Sync" : "Async"}};
}

json network_interface_object(const NetworkInterfaceConfig& n) {
  json j{{"iface_id", n.iface_id},
         {"host_dev_name", n.host_dev_name},
         {"guest_mac", n.guest_mac ? json(format_mac_address(*n.guest_mac)) : json(nullptr)}};
  if (n.mtu) j["mtu"] = *n.mtu;
  j["rx_rate_limiter"] = rate_limiter_json(n.rx_rate_limiter);
  j["tx_rate_limiter"] = rate_limiter_json(n.tx_rate_limiter);
  return j;
}

std::string_view logger_level_name(LoggerLevel level) {
  switch (level) {
    case LoggerLevel::kError: return "Error";
    case LoggerLevel::kWarning: return "Warning";
    case LoggerLevel::kInfo: return "Info";
    case LoggerLevel::kDebug: return "Debug";
    case LoggerLevel::kTrace: return "Trace";
    case LoggerLevel::kOff: return "Off";
  }
  return "Info";
}

json logger_object(const LoggerConfig& l) {
  return json{{"log_path", or_null(l.log_path)},
              {"level", l.level ? json(logger_level_name(*l.level)) : json(nullptr)},
              {"show_level", or_null(l.show_level)},
              {"show_log_origin", or_null(l.show_log_origin)},
              {"module", or_null(l.module)}};
}

json vsock_object(const VsockConfig& v) {
  json j{{"guest_cid", v.guest_cid}, {"uds_path", v.uds_path}};
  if (v.vsock_id) j["vsock_id"] = *v.vsock_id;
  return j;
}

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
  // The yaml's FullVmConfiguration, with null for the devices ember does not have.
  json j = json::object();
  j["balloon"] = nullptr;
  j["drives"] = std::move(drives);
  j["boot-source"] = c.boot_source ? boot_source_object(*c.boot_source) : json(nullptr);
  j["cpu-config"] = nullptr;
  j["logger"] = c.logger ? logger_object(*c.logger) : json(nullptr);
  j["machine-config"] = machine_config_object(c.machine);
  j["metrics"] = c.metrics ? json{{"metrics_path", c.metrics->metrics_path}} : json(nullptr);
  j["memory-hotplug"] = nullptr;
  j["mmds-config"] = nullptr;
  j["network-interfaces"] = std::move(interfaces);
  j["pmem"] = json::array();
  j["vsock"] = c.vsock ? vsock_object(*c.vsock) : json(nullptr);
  j["entropy"] = nullptr;
  return dump(j);
}

std::string fault_json(std::string_view message) { return dump(json{{"fault_message", message}}); }

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kInternal: return 500;
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
  };
  return std::visit(Body{}, *result);
}

ApiReply reply_no_content() { return ApiReply{204, ""}; }

ApiReply reply_json(std::string json_body) { return ApiReply{200, std::move(json_body)}; }

ApiReply reply_error(std::string_view message, int status) { return ApiReply{status, fault_json(message)}; }

}  // namespace ember
