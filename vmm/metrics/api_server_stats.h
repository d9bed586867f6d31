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

struct ApiServerStats {
  // Requests that matched no endpoint are counted under "other".
  std::map<std::string, ApiEndpointStats> endpoints;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over max_connections
  uint64_t bad_http = 0;             // malformed or over a limit: answered and closed
};

}  // namespace ember
