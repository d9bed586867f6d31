// What the API server counts, as plain data: the server (api/) fills it in, the metrics report
// it. It lives here, below the API, so that metrics need nothing of the HTTP layer.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ember {

// Counts for one endpoint, keyed like api_endpoint_name ("PUT /drives/{drive_id}").
struct ApiEndpointStats {
  uint64_t requests = 0;
  uint64_t failures = 0;  // answered with a status of 400 or more
  uint64_t total_latency_us = 0;
  uint64_t max_latency_us = 0;
};

// Firecracker's per-resource request counts (its get/put/patch_api_requests groups): requests to
// one resource with one method, and of those the ones the API refused before they reached the
// VMM (Firecracker counts *_fails when it cannot parse the request).
struct ApiResourceStats {
  uint64_t requests = 0;
  uint64_t refused = 0;
};

struct ApiServerStats {
  // Requests that matched no endpoint are counted under "other".
  std::map<std::string, ApiEndpointStats> endpoints;
  // Keyed "<METHOD> /<first path segment>" ("PUT /drives", "GET /"), also for the resources
  // ember does not serve ("PUT /mmds"), so that Firecracker's counters see them.
  std::map<std::string, ApiResourceStats> resources;
  // Requests that used a deprecated field (Firecracker's deprecated_api.deprecated_http_api_calls).
  uint64_t deprecated_requests = 0;
  // Firecracker's API-level latencies_us: the last request of each kind that succeeded, from
  // its arrival to its answer. Keyed by Firecracker's name: "pause_vm", "full_create_snapshot"...
  std::map<std::string, uint64_t> latest_latency_us;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over max_connections
  uint64_t bad_http = 0;             // malformed or over a limit: answered and closed
};

}  // namespace ember
