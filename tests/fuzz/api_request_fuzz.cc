// libFuzzer target: arbitrary bytes as an API request. The input is split at its first two
// newlines into method, target and body (missing parts are empty) and given to
// parse_api_request. Any crash, sanitizer report or uncaught exception is a bug: a request
// must only ever produce an action or an error.
//
// Beyond not crashing, it checks properties that must hold for every input:
//  - an accepted request names an endpoint (api_endpoint_name agrees with the router);
//  - every error message fits in a fault_message body and stays short;
//  - what GET /vm/config would report for an accepted drive or network interface parses back,
//    as a PUT body, to the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/request_parser.h"
#include "api/response.h"

namespace {

using ember::VmmAction;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "api_request_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::string_view next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    std::string_view all = rest;
    rest = {};
    return all;
  }
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return line;
}

bool same_limiter(const std::optional<ember::RateLimiterConfig>& a, const std::optional<ember::RateLimiterConfig>& b) {
  auto same_bucket = [](const std::optional<ember::TokenBucketConfig>& x, const std::optional<ember::TokenBucketConfig>& y) {
    if (x.has_value() != y.has_value()) return false;
    return !x || (x->size == y->size && x->one_time_burst == y->one_time_burst && x->refill_time_ms == y->refill_time_ms);
  };
  if (a.has_value() != b.has_value()) return false;
  return !a || (same_bucket(a->bandwidth, b->bandwidth) && same_bucket(a->ops, b->ops));
}

// Reports the device through vm_config_json and parses the report back as a PUT.
void check_round_trip(const VmmAction& action) {
  ember::FullVmConfig config;
  std::string target;
  const char* key = nullptr;
  if (const auto* drive = std::get_if<ember::PutDrive>(&action)) {
    config.drives.push_back(drive->config);
    target = "/drives/" + drive->config.drive_id;
    key = "drives";
  } else if (const auto* iface = std::get_if<ember::PutNetworkInterface>(&action)) {
    config.network_interfaces.push_back(iface->config);
    target = "/network-interfaces/" + iface->config.iface_id;
    key = "network-interfaces";
  } else {
    return;
  }
  const nlohmann::json report = nlohmann::json::parse(ember::vm_config_json(config));
  const std::string body = report[key][0].dump();
  auto back = ember::parse_api_request("PUT", target, body);
  if (!back.ok()) fail("a reported device does not parse back", back.error().message);

  if (const auto* drive = std::get_if<ember::PutDrive>(&action)) {
    const ember::DriveConfig& a = drive->config;
    const ember::DriveConfig& b = std::get<ember::PutDrive>(*back).config;
    if (a.drive_id != b.drive_id || a.path_on_host != b.path_on_host || a.is_root_device != b.is_root_device ||
        a.is_read_only != b.is_read_only || a.partuuid != b.partuuid || a.cache_type != b.cache_type ||
        a.io_engine != b.io_engine || !same_limiter(a.rate_limiter, b.rate_limiter))
      fail("a drive changed on its way through GET /vm/config", body);
  } else {
    const ember::NetworkInterfaceConfig& a = std::get<ember::PutNetworkInterface>(action).config;
    const ember::NetworkInterfaceConfig& b = std::get<ember::PutNetworkInterface>(*back).config;
    if (a.iface_id != b.iface_id || a.host_dev_name != b.host_dev_name || a.guest_mac != b.guest_mac ||
        a.mtu != b.mtu || !same_limiter(a.rx_rate_limiter, b.rx_rate_limiter) ||
        !same_limiter(a.tx_rate_limiter, b.tx_rate_limiter))
      fail("a network interface changed on its way through GET /vm/config", body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view method = next_line(rest);
  const std::string_view target = next_line(rest);
  const std::string_view body = rest;

  auto action = ember::parse_api_request(method, target, body);
  const std::string endpoint = ember::api_endpoint_name(method, target);
  if (!action.ok()) {
    const std::string& message = action.error().message;
    if (message.empty()) fail("an error without a message", target);
    // Messages quote at most 64 bytes of any one value, and JSON errors are cut at 200.
    if (message.size() > 600) fail("an overlong error message", message);
    const nlohmann::json fault = nlohmann::json::parse(ember::fault_json(message));
    if (!fault["fault_message"].is_string()) fail("a fault body without its message", message);
    return 0;
  }
  if (endpoint.empty()) fail("an accepted request with no endpoint", target);
  if (ember::action_name(*action).empty()) fail("an action without a name", endpoint);
  check_round_trip(*action);
  return 0;
}
