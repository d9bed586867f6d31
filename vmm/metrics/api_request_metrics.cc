#include "vmm/metrics/api_request_metrics.h"

#include <algorithm>
#include <string>

namespace ember {

std::string api_resource_key(std::string_view method, std::string_view target) {
  // Absolute form ("http://localhost/drives/x"): the path starts at the first '/' after "//".
  if (const size_t scheme = target.find("://"); scheme != std::string_view::npos) {
    const size_t path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  if (const size_t query = target.find_first_of("?#"); query != std::string_view::npos)
    target = target.substr(0, query);
  // The first non-empty segment (empty segments are ignored, as the router does).
  size_t begin = target.find_first_not_of('/');
  std::string_view segment;
  if (begin != std::string_view::npos) {
    const size_t end = target.find('/', begin);
    segment = target.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  }
  return std::string(method) + " /" + std::string(segment);
}

std::optional<std::string_view> timed_action_name(const VmmAction& action) {
  // Firecracker times these five at the API (api_server/mod.rs) and in the VMM
  // (rpc_interface.rs), and nothing else.
  if (const auto* vm = std::get_if<PatchVm>(&action))
    return vm->state == RequestedVmState::kPaused ? "pause_vm" : "resume_vm";
  if (const auto* create = std::get_if<CreateSnapshot>(&action))
    return create->params.snapshot_type == SnapshotType::kFull ? "full_create_snapshot" : "diff_create_snapshot";
  if (std::holds_alternative<LoadSnapshot>(action)) return "load_snapshot";
  return std::nullopt;
}

void count_api_request_received(ApiServerStats* stats, std::string_view method, std::string_view target,
                                const VmmAction* action, bool deprecated) {
  ApiResourceStats& res = stats->resources[api_resource_key(method, target)];
  ++res.requests;
  if (action == nullptr) ++res.refused;
  if (deprecated) ++stats->deprecated_requests;
}

void count_api_request_answered(ApiServerStats* stats, const ApiRequestOutcome& r) {
  ApiEndpointStats& e = stats->endpoints[std::string(r.endpoint)];
  ++e.requests;
  if (r.status >= 400) ++e.failures;
  e.total_latency_us += r.latency_us;
  e.max_latency_us = std::max(e.max_latency_us, r.latency_us);
  if (r.action == nullptr) return;
  // Firecracker stores the time only for a request that succeeded.
  if (r.status < 300)
    if (auto name = timed_action_name(*r.action)) stats->latest_latency_us[std::string(*name)] = r.latency_us;
}

}  // namespace ember
