// ember's metrics, as Firecracker users know them: configured once (--metrics-path or PUT
// /metrics, before InstanceStart), then one JSON line per flush (metrics_report.h says what is
// in it) to a file or FIFO (metrics_sink.h). Flushes come every 60 s from a timerfd on the
// VMM thread's event loop, on FlushMetrics, and once at exit; the controller asks for the last
// two.
//
// The counters stay with what counts them (the API server, the vCPUs, the devices); this
// module reads them through Sources when it flushes and keeps the snapshot of the last line
// written, so that each line reports what happened since the one before. A line that is
// dropped (FIFO full) or fails leaves that baseline alone: the next line covers both periods,
// so nothing is lost, and logger.missed_metrics_count / metrics_fails say it happened.
//
// Threads: the VMM thread only (configure, flush and the timer handler).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "config/models.h"
#include "base/event_loop.h"
#include "vmm/metrics/metrics_sink.h"
#include "vmm/metrics/metrics_snapshot.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

class Metrics {
 public:
  static constexpr std::chrono::milliseconds kFlushPeriod{60'000};

  // Where the counters come from; either may be empty or answer nullopt (that group then
  // reports zeros).
  struct Sources {
    std::function<std::optional<ApiServerStats>()> api_server;
    std::function<std::optional<VmCounters>()> vm;
    std::function<std::optional<MmdsCounters>()> mmds;
  };

  // `loop` must outlive this object. `start_time` is the process's start (for uptime).
  Metrics(EventLoop& loop, Sources sources, std::chrono::steady_clock::time_point start_time,
          std::chrono::milliseconds flush_period = kFlushPeriod);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Opens the sink and starts the periodic flush. Allowed once: a second call is refused,
  // as is a path that cannot be opened; a refused call changes nothing.
  [[nodiscard]] Result<void> configure(const MetricsConfig& config);
  [[nodiscard]] const std::optional<MetricsConfig>& config() const { return config_; }
  // The api_server group's start-up gauges: from the process's start to the API socket
  // being ready, in wall-clock time and in the process's CPU time.
  void set_startup_time(std::chrono::microseconds wall, std::chrono::microseconds cpu);
  // Firecracker's VMM-level latencies_us: `name` is "vmm_pause_vm", "vmm_load_snapshot", ...
  void record_vmm_latency(const std::string& name, std::chrono::microseconds took);
  // A termination signal arrived (Firecracker's signals group; only SIGHUP is counted there).
  void count_signal(int signal);

  // Writes one line now. Without a configuration it writes nothing and succeeds (as
  // Firecracker's FlushMetrics does). Fails, saying why, when the line was dropped or the
  // write failed.
  [[nodiscard]] Result<void> flush();
  // The sink's counters (zeros before configure()).
  [[nodiscard]] MetricsSinkCounters sink_counters() const;

 private:
  MetricsSnapshot snapshot() const;
  void on_timer();

  EventLoop& loop_;
  const Sources sources_;
  const std::chrono::steady_clock::time_point start_time_;
  const std::chrono::milliseconds flush_period_;
  std::optional<MetricsConfig> config_;
  std::optional<MetricsSink> sink_;
  UniqueFd timer_;
  MetricsSnapshot previous_;  // of the last line written
  uint64_t startup_wall_us_ = 0;
  uint64_t startup_cpu_us_ = 0;
  std::map<std::string, uint64_t> vmm_latency_us_;
  uint64_t sighup_ = 0;
  bool failing_ = false;      // the periodic flush is failing (logged once until it recovers)
};

}  // namespace ember
