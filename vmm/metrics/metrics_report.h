// The metrics line: one JSON object (no newline) with Firecracker v1.16.1's schema, groups in
// Firecracker's order: utc_timestamp_ms (wall clock at the flush, ms since the Unix epoch),
// api_server, balloon, block_<drive_id>... and block (their sum), deprecated_api,
// get_api_requests, i8042, uart, latencies_us, logger, mmds, net_<iface_id>... and net,
// patch_api_requests, put_api_requests, seccomp, vcpu, vmm, signals, vsock, entropy, pmem,
// interrupts, memory_hotplug. Every key Firecracker writes is there, and no other: the groups
// of devices ember lacks and the fields it cannot measure are 0 (metrics_report.cc says why,
// key by key); vmm/metrics/README.md maps each key to what ember counts.
//
// Counters are deltas: what happened since `previous` (the snapshot of the last line that was
// written), as Firecracker's SharedIncMetric. Gauges (Firecracker's SharedStoreMetric) are
// values now: api_server's start-up times, latencies_us, the min_us/max_us of latency
// aggregates, seccomp.num_faults, vmm.panic_count and the signals but sigpipe.
#pragma once

#include <cstdint>
#include <string>

#include "vmm/metrics/metrics_snapshot.h"

namespace ember {

[[nodiscard]] std::string metrics_line(const MetricsSnapshot& now, const MetricsSnapshot& previous,
                                       uint64_t utc_timestamp_ms);

}  // namespace ember
