// How one API request is counted: the API server (api/server.cc) calls
// count_api_request_received() once it has parsed a request and count_api_request_answered()
// once it has its answer, under the lock of its ApiServerStats, and the metrics read those
// stats. Firecracker counts a request (and a refusal by its parser) at parsing, before the VMM
// acts on it: so a FlushMetrics request is in the line it writes. Here, not in api/, so that what is counted and how it maps to Firecracker's metrics
// live next to each other.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "vmm/controller/action.h"
#include "vmm/metrics/api_server_stats.h"

namespace ember {

// `method` as sent ("PUT"), `target` as sent ("/drives/rootfs", or absolute form), `action`
// what the request parsed into (nullptr when the API refused it), `deprecated` whether it used
// a deprecated field (the parser tells: some it folds into their successors).
void count_api_request_received(ApiServerStats* stats, std::string_view method, std::string_view target,
                                const VmmAction* action, bool deprecated);

struct ApiRequestOutcome {
  std::string_view endpoint;  // api_endpoint_name(), or "other"
  const VmmAction* action;    // what the request parsed into; nullptr when the API refused it
  int status;                 // the HTTP status answered
  uint64_t latency_us;        // from the request's arrival to its answer
};

void count_api_request_answered(ApiServerStats* stats, const ApiRequestOutcome& request);

// The resource key of a request: "<METHOD> /<first path segment>" ("PUT /drives").
[[nodiscard]] std::string api_resource_key(std::string_view method, std::string_view target);

// Firecracker's latencies_us name for an action it times ("pause_vm", "full_create_snapshot",
// ...), or nullopt for the others. The VMM-level names add the prefix "vmm_".
[[nodiscard]] std::optional<std::string_view> timed_action_name(const VmmAction& action);

}  // namespace ember
