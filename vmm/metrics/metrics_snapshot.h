// Everything one metrics line is made from, read at one moment: totals since start (turned
// into per-flush deltas by metrics_line()) and a few gauges.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "mmds/counters.h"
#include "vmm/metrics/api_server_stats.h"
#include "vmm/metrics/metrics_sink.h"
#include "vmm/metrics/vm_counters.h"

namespace ember {

struct MetricsSnapshot {
  std::optional<ApiServerStats> api_server;  // nullopt: no API server (--no-api)
  std::optional<VmCounters> vm;              // nullopt: not started yet
  MetricsSinkCounters sink;
  MmdsCounters mmds;                         // the metadata service's (zeros without one)
  // Gauges.
  uint64_t uptime_ms = 0;                    // since the process started (not in Firecracker's line)
  uint64_t process_startup_time_us = 0;      // process start to API socket ready; 0 without one
  uint64_t process_startup_time_cpu_us = 0;  // CPU time the process used by then
  // Firecracker's VMM-level latencies_us ("vmm_pause_vm", ...): the last action of each kind
  // that succeeded, as long as the VMM thread took to carry it out.
  std::map<std::string, uint64_t> vmm_latency_us;
  uint64_t sighup = 0;  // 1 once a SIGHUP asked ember to stop
};

}  // namespace ember
