// The metrics line: one JSON object (no newline), its keys in this order:
//
//   utc_timestamp_ms   wall clock at the flush, in ms since the Unix epoch
//   api_server         requests per endpoint ("PUT /drives/{drive_id}") with failures and
//                      latencies, connections, malformed requests, process start-up time
//   block, net         every drive / network interface added up
//   block_<drive_id>   one per drive, net_<iface_id> one per network interface
//   vsock              the vsock device (zeros without one)
//   vcpu               KVM exits by reason, summed over vCPUs
//   vmm                uptime
//   logger             metrics lines dropped (sink full) and failed writes
//
// Counters are deltas: what happened since `previous` (the snapshot of the last line that was
// written), as Firecracker reports them. Gauges are values now: utc_timestamp_ms,
// process_startup_time_us, process_startup_time_cpu_us, the endpoints' latency_max_us (the
// largest since start), vsock.active_connections and vmm.uptime_ms. Units are in the names:
// `_us`, `_ms`, `_bytes` (bytes), anything else is a count. The groups and keys are always
// there (zeros before InstanceStart), except the per-device groups, which appear with their
// devices, and api_server's endpoints, which appear with their first request.
#pragma once

#include <cstdint>
#include <string>

#include "vmm/metrics/metrics_snapshot.h"

namespace ember {

[[nodiscard]] std::string metrics_line(const MetricsSnapshot& now, const MetricsSnapshot& previous,
                                       uint64_t utc_timestamp_ms);

}  // namespace ember
