#include "api/request_parser.h"

#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <vector>

#include "api/body_parsers.h"
#include "api/cpu_config_parser.h"
#include "api/json_fields.h"

namespace ember {
namespace {

using json = nlohmann::json;
using api_detail::printable;
using api_detail::quote_value;

// One endpoint of the yaml that ember serves. A pattern segment in braces matches any one
// path segment: the id handed to `parse`.
struct Route {
  std::string_view method;
  std::string_view pattern;
  // Null for requests without a body (GET).
  Result<VmmAction> (*parse_body)(std::string_view path_id, const json& body);
  // Requests without a body make their action from nothing.
  VmmAction (*make)();
};

// Firecracker's words for a body whose id is not the one in the path: a drive's message names
// neither id, an interface's names both.
Result<void> check_body_id(std::string_view what, const std::string& body_id, std::string_view path_id) {
  if (body_id == path_id) return {};
  if (what.starts_with("drive"))
    return make_error("The id from the path does not match the id from the body! (" + std::string(what) + " " +
                      quote_value(body_id) + ", path " + quote_value(path_id) + ")");
  return make_error("The id from the path [" + printable(path_id) + "] does not match the id from the body [" +
                    printable(body_id) + "]!");
}

template <class A>
VmmAction make() {
  return A{};
}

Result<VmmAction> put_machine_config(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(PutMachineConfig put, api_detail::parse_put_machine_config(body));
  return VmmAction(put);
}
Result<VmmAction> patch_machine_config(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(PatchMachineConfig patch, api_detail::parse_patch_machine_config(body));
  return VmmAction(patch);
}
Result<VmmAction> put_boot_source(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(BootSourceConfig config, api_detail::parse_put_boot_source(body));
  return VmmAction(PutBootSource{std::move(config)});
}
Result<VmmAction> put_drive(std::string_view id, const json& body) {
  ASSIGN_OR_RETURN(DriveConfig config, api_detail::parse_drive(body));
  TRY(check_body_id("drive.drive_id", config.drive_id, id));
  return VmmAction(PutDrive{std::move(config)});
}
Result<VmmAction> patch_drive(std::string_view id, const json& body) {
  ASSIGN_OR_RETURN(PatchDrive patch, api_detail::parse_partial_drive(body));
  TRY(check_body_id("drive.drive_id", patch.drive_id, id));
  return VmmAction(std::move(patch));
}
Result<VmmAction> put_network_interface(std::string_view id, const json& body) {
  ASSIGN_OR_RETURN(NetworkInterfaceConfig config, api_detail::parse_network_interface(body));
  TRY(check_body_id("network-interface.iface_id", config.iface_id, id));
  return VmmAction(PutNetworkInterface{std::move(config)});
}
Result<VmmAction> patch_network_interface(std::string_view id, const json& body) {
  ASSIGN_OR_RETURN(PatchNetworkInterface patch, api_detail::parse_partial_network_interface(body));
  TRY(check_body_id("network-interface.iface_id", patch.iface_id, id));
  return VmmAction(std::move(patch));
}
Result<VmmAction> put_vsock(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(VsockConfig config, api_detail::parse_vsock(body));
  return VmmAction(PutVsock{std::move(config)});
}
Result<VmmAction> put_action(std::string_view, const json& body) {
  return api_detail::parse_instance_action(body);
}
Result<VmmAction> patch_vm(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(RequestedVmState state, api_detail::parse_vm_state(body));
  return VmmAction(PatchVm{state});
}
Result<VmmAction> put_logger(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(LoggerConfig config, api_detail::parse_logger(body));
  return VmmAction(PutLogger{std::move(config)});
}
Result<VmmAction> put_metrics(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(MetricsConfig config, api_detail::parse_metrics(body));
  return VmmAction(PutMetrics{std::move(config)});
}
Result<VmmAction> create_snapshot(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(SnapshotCreateParams params, api_detail::parse_snapshot_create(body));
  return VmmAction(CreateSnapshot{std::move(params)});
}
Result<VmmAction> put_cpu_config(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(CustomCpuTemplate config, api_detail::parse_cpu_config(body));
  return VmmAction(PutCpuConfig{std::move(config)});
}
Result<VmmAction> load_snapshot(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(SnapshotLoadParams params, api_detail::parse_snapshot_load(body));
  return VmmAction(LoadSnapshot{std::move(params)});
}

Result<VmmAction> put_mmds(std::string_view, const json& body) { return VmmAction(PutMmds{body}); }
Result<VmmAction> patch_mmds(std::string_view, const json& body) { return VmmAction(PatchMmds{body}); }
Result<VmmAction> put_mmds_config(std::string_view, const json& body) {
  ASSIGN_OR_RETURN(MmdsConfig config, api_detail::parse_mmds_config(body));
  return VmmAction(PutMmdsConfig{std::move(config)});
}

// The paths of firecracker-api-v1.16.1.yaml that ember serves.
const Route kRoutes[] = {
    {"GET", "/", nullptr, make<GetInstanceInfo>},
    {"GET", "/version", nullptr, make<GetVersion>},
    {"GET", "/machine-config", nullptr, make<GetMachineConfig>},
    {"PUT", "/machine-config", put_machine_config, nullptr},
    {"PATCH", "/machine-config", patch_machine_config, nullptr},
    {"PUT", "/boot-source", put_boot_source, nullptr},
    {"PUT", "/drives/{drive_id}", put_drive, nullptr},
    {"PATCH", "/drives/{drive_id}", patch_drive, nullptr},
    {"PUT", "/network-interfaces/{iface_id}", put_network_interface, nullptr},
    {"PATCH", "/network-interfaces/{iface_id}", patch_network_interface, nullptr},
    {"PUT", "/vsock", put_vsock, nullptr},
    {"PUT", "/actions", put_action, nullptr},
    {"PATCH", "/vm", patch_vm, nullptr},
    {"GET", "/vm/config", nullptr, make<GetVmConfig>},
    {"PUT", "/logger", put_logger, nullptr},
    {"PUT", "/metrics", put_metrics, nullptr},
    {"PUT", "/snapshot/create", create_snapshot, nullptr},
    {"PUT", "/snapshot/load", load_snapshot, nullptr},
    {"PUT", "/cpu-config", put_cpu_config, nullptr},
    {"GET", "/mmds", nullptr, make<GetMmds>},
    {"PUT", "/mmds", put_mmds, nullptr},
    {"PATCH", "/mmds", patch_mmds, nullptr},
    {"PUT", "/mmds/config", put_mmds_config, nullptr},
};

// The yaml's other top-level paths: devices and features ember does not have, and what each is.
// Refused in Firecracker's words for an operation it does not support
// (VmmActionError::NotSupported), naming the feature, whatever the method.
struct Unsupported {
  std::string_view path;
  std::string_view feature;
};
constexpr std::array<Unsupported, 5> kUnsupportedTopLevel = {{
    {"balloon", "the balloon device"},
    {"pmem", "virtio-pmem devices"},
    {"entropy", "the entropy (virtio-rng) device"},
    {"hotplug", "memory hotplug"},
    {"serial", "serial console configuration"},
}};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t at = 0;
  while (at < path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    if (end > at) segments.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return segments;
}

// The path of a request target: without a query or fragment, and without the scheme and
// authority of an absolute-form target (RFC 9112 section 3.2.2).
Result<std::string_view> target_path(std::string_view target) {
  if (target.starts_with("http://")) {
    target.remove_prefix(7);
    const size_t slash = target.find('/');
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const size_t end = target.find_first_of("?#");
  if (end != std::string_view::npos) target = target.substr(0, end);
  if (!target.starts_with('/')) return make_error("request target " + quote_value(target) + " is not a path");
  return target;
}

// The id a pattern's brace segment matched (empty for patterns without one), or nullopt when the
// path does not match.
std::optional<std::string_view> match(std::string_view pattern, const std::vector<std::string_view>& path) {
  const std::vector<std::string_view> want = split_path(pattern);
  if (want.size() != path.size()) return std::nullopt;
  std::string_view id;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      id = path[i];
    } else if (want[i] != path[i]) {
      return std::nullopt;
    }
  }
  return id;
}

struct Routed {
  const Route* route;
  std::string_view id;
};

Result<Routed> route_request(std::string_view method, std::string_view target) {
  ASSIGN_OR_RETURN(std::string_view path, target_path(target));
  const std::vector<std::string_view> segments = split_path(path);
  if (!segments.empty()) {
    for (const Unsupported& u : kUnsupportedTopLevel) {
      if (segments[0] == u.path)
        return make_error("The requested operation is not supported: ember does not have " + std::string(u.feature) +
                          " ('/" + std::string(u.path) + "' is not supported by ember)");
    }
  }
  std::string allowed;
  for (const Route& route : kRoutes) {
    std::optional<std::string_view> id = match(route.pattern, segments);
    if (!id) continue;
    if (route.method == method) return Routed{&route, *id};
    allowed += (allowed.empty() ? "" : ", ") + std::string(route.method);
  }
  if (segments.size() == 1 && (segments[0] == "drives" || segments[0] == "network-interfaces") &&
      (method == "PUT" || method == "PATCH"))
    return make_error("The ID cannot be empty. (the path " + quote_value(path) + " lacks the device id: use /" +
                      std::string(segments[0]) + "/{id})");
  // Firecracker's RequestError::InvalidPathMethod, which names the path's first segment.
  std::string message = "Invalid request method and/or path: " + printable(method) + " " +
                        printable(segments.empty() ? std::string_view() : segments[0]) + ".";
  if (!allowed.empty())
    return make_error(message + " (method " + quote_value(method) + " is not allowed on " + quote_value(path) +
                      " (allowed: " + allowed + "))");
  return make_error(message + " (unknown API path " + quote_value(path) + ")");
}

// nlohmann's parser needs no stack per nesting level, but no body of the yaml nests deeper than
// four, so a deeper one is refused before it costs anything. MMDS data is the user's own JSON:
// it may nest as deep as serde_json lets Firecracker read (its recursion limit, 128).
constexpr int kMaxJsonDepth = 16;
constexpr int kMaxMmdsJsonDepth = 128;

bool nests_too_deep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

Result<json> parse_body_json(std::string_view method, std::string_view body, int max_depth) {
  // Firecracker's words for a PUT or PATCH without a body.
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return make_error("Empty " + printable(method) + " request.");
  if (nests_too_deep(body, max_depth))
    return make_error("request body nests deeper than " + std::to_string(max_depth) + " levels");
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    // A parse_error, or an out_of_range for a number too large for a double (1e400).
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." without its tag,
    // cut short: the part after "last read" may quote much of the body.
    std::string what = e.what();
    const size_t tag_end = what.find("] ");
    if (tag_end != std::string::npos) what.erase(0, tag_end + 2);
    constexpr size_t kMaxShown = 200;
    if (what.size() > kMaxShown) what = what.substr(0, kMaxShown) + "...";
    return api_detail::deserialize_error("request body is not valid JSON: " + what);
  }
}

// The route of a request with a body, the id in its path checked.
Result<Routed> route_with_id(std::string_view method, std::string_view target) {
  ASSIGN_OR_RETURN(Routed routed, route_request(method, target));
  if (routed.route->parse_body != nullptr && routed.route->pattern.find('{') != std::string_view::npos &&
      !api_detail::is_valid_id(routed.id))
    return make_error("API Resource IDs can only contain alphanumeric characters and underscores. (the id " +
                      quote_value(routed.id) + " in the path: use 1 to 64 letters, digits or underscores)");
  return routed;
}

Result<VmmAction> parse_routed_body(const Routed& routed, const json& body) {
  try {
    return routed.route->parse_body(routed.id, body);
  } catch (const json::exception& e) {
    // The parsers check every type before reading a value; this is the safety net.
    return api_detail::deserialize_error(std::string("request body: ") + e.what());
  }
}

// serde reports a missing field where the object that lacks it ends: for a body's own fields,
// its closing brace (Firecracker's tests match "missing field `vcpu_count` at line 1 column 21.").
std::string end_position(std::string_view body) {
  const size_t last = body.find_last_not_of(" \t\r\n");
  if (last == std::string_view::npos) return "";
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < last; ++i) {
    if (body[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return " at line " + std::to_string(line) + " column " + std::to_string(last - line_start + 1);
}

// Firecracker's RequestError::SerdeJson ends its message with a period; a missing field of the
// body itself (no " in <where>" after it) also says where serde noticed it.
Error finish_deserialize_error(Error error, std::string_view body) {
  std::string& m = error.message;
  if (!m.starts_with(api_detail::kDeserializeErrorPrefix)) return error;
  const std::string_view serde_text = std::string_view(m).substr(api_detail::kDeserializeErrorPrefix.size());
  if (serde_text.starts_with("missing field `") && serde_text.ends_with("`")) m += end_position(body);
  m += ".";
  return error;
}

bool given(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && !it->is_null();
}

// The deprecated fields Firecracker v1.16.1 warns about, in its words (its api_server/request/).
std::optional<std::string> deprecation_of(const Route& route, const json& body) {
  const std::string_view endpoint = route.pattern;
  if (endpoint == "/machine-config" && given(body, "cpu_template"))
    return std::string(route.method) + " /machine-config: cpu_template field is deprecated.";
  if (endpoint == "/vsock" && given(body, "vsock_id")) return std::string("PUT /vsock: vsock_id field is deprecated.");
  if (endpoint == "/snapshot/load") {
    auto diff = body.find("enable_diff_snapshots");
    const bool diff_on = diff != body.end() && diff->is_boolean() && diff->get<bool>();
    if (given(body, "mem_file_path") || diff_on)
      return std::string("PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated.");
  }
  if (endpoint == "/mmds/config") {
    auto version = body.find("version");
    if (version == body.end() || version->is_null() || *version == "V1")
      return std::string("PUT /mmds/config: V1 is deprecated. Use V2 instead.");
  }
  return std::nullopt;
}

}  // namespace

Result<ParsedApiRequest> parse_api_request_with_info(std::string_view method, std::string_view target,
                                                     std::string_view body) {
  ASSIGN_OR_RETURN(Routed routed, route_with_id(method, target));
  if (routed.route->parse_body == nullptr) return ParsedApiRequest{routed.route->make(), std::nullopt};  // a GET: any body is ignored
  const bool mmds_data = routed.route->pattern == "/mmds";
  auto parsed = parse_body_json(method, body, mmds_data ? kMaxMmdsJsonDepth : kMaxJsonDepth);
  if (!parsed) return finish_deserialize_error(parsed.error(), body);
  auto action = parse_routed_body(routed, *parsed);
  if (!action) return finish_deserialize_error(action.error(), body);
  return ParsedApiRequest{std::move(action).value(), deprecation_of(*routed.route, *parsed)};
}

Result<VmmAction> parse_api_request(std::string_view method, std::string_view target, std::string_view body) {
  ASSIGN_OR_RETURN(ParsedApiRequest parsed, parse_api_request_with_info(method, target, body));
  return std::move(parsed.action);
}

namespace api_detail {

Result<VmmAction> parse_api_request_json(std::string_view method, std::string_view target, const json& body) {
  ASSIGN_OR_RETURN(Routed routed, route_with_id(method, target));
  if (routed.route->parse_body == nullptr) return routed.route->make();
  return parse_routed_body(routed, body);
}

}  // namespace api_detail

std::string api_endpoint_name(std::string_view method, std::string_view target) {
  auto routed = route_request(method, target);
  if (!routed.ok()) return "";
  return std::string(routed->route->method) + " " + std::string(routed->route->pattern);
}

}  // namespace ember
