#include "vmm/metrics/metrics.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "vmm/metrics/metrics_report.h"
#include "base/errno_error.h"
#include "base/log.h"

namespace ember {
namespace {

uint64_t utc_now_ms() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

timespec to_timespec(std::chrono::milliseconds d) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(d.count() / 1000);
  ts.tv_nsec = static_cast<long>((d.count() % 1000) * 1'000'000);
  return ts;
}

}  // namespace

Metrics::Metrics(EventLoop& loop, Sources sources, std::chrono::steady_clock::time_point start_time,
                 std::chrono::milliseconds flush_period)
    : loop_(loop), sources_(std::move(sources)), start_time_(start_time), flush_period_(flush_period) {}

Metrics::~Metrics() {
  if (timer_.valid()) loop_.remove(timer_.get());
}

Result<void> Metrics::configure(const MetricsConfig& config) {
  if (config_)
    // Firecracker's text first: its clients and tests match it.
    return make_error("Reinitialization of metrics not allowed. (metrics are already configured with "
                      "metrics_path " + config_->metrics_path + ")");
  ASSIGN_OR_RETURN(MetricsSink sink, MetricsSink::open(config.metrics_path));

  UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer.valid()) return errno_error("metrics: timerfd_create");
  itimerspec spec{};
  spec.it_value = to_timespec(flush_period_);
  spec.it_interval = spec.it_value;
  if (::timerfd_settime(timer.get(), 0, &spec, nullptr) != 0) return errno_error("metrics: timerfd_settime");
  TRY(loop_.add(timer.get(), EPOLLIN, [this](uint32_t) { on_timer(); }));

  timer_ = std::move(timer);
  sink_ = std::move(sink);
  config_ = config;
  log_info("metrics: writing to " + config.metrics_path);
  return {};
}

void Metrics::set_startup_time(std::chrono::microseconds wall, std::chrono::microseconds cpu) {
  startup_wall_us_ = static_cast<uint64_t>(std::max<int64_t>(0, wall.count()));
  startup_cpu_us_ = static_cast<uint64_t>(std::max<int64_t>(0, cpu.count()));
}

void Metrics::record_vmm_latency(const std::string& name, std::chrono::microseconds took) {
  vmm_latency_us_[name] = static_cast<uint64_t>(std::max<int64_t>(0, took.count()));
}

void Metrics::count_signal(int signal) {
  // A store, not a count: Firecracker keeps its deadly signals at 0 or 1.
  if (signal == SIGHUP) sighup_ = 1;
}

MetricsSnapshot Metrics::snapshot() const {
  MetricsSnapshot s;
  if (sources_.api_server) s.api_server = sources_.api_server();
  if (sources_.vm) s.vm = sources_.vm();
  if (sources_.mmds) s.mmds = sources_.mmds().value_or(MmdsCounters{});
  if (sink_) s.sink = sink_->counters();
  const auto up = std::chrono::steady_clock::now() - start_time_;
  s.uptime_ms = static_cast<uint64_t>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(up).count()));
  s.process_startup_time_us = startup_wall_us_;
  s.process_startup_time_cpu_us = startup_cpu_us_;
  s.vmm_latency_us = vmm_latency_us_;
  s.sighup = sighup_;
  return s;
}

Result<void> Metrics::flush() {
  if (!sink_) return {};
  MetricsSnapshot now = snapshot();
  TRY(sink_->write_line(metrics_line(now, previous_, utc_now_ms())));
  previous_ = std::move(now);
  return {};
}

MetricsSinkCounters Metrics::sink_counters() const { return sink_ ? sink_->counters() : MetricsSinkCounters{}; }

void Metrics::on_timer() {
  uint64_t expirations = 0;
  // Clears the timerfd's readiness; EAGAIN (nothing expired) is fine.
  (void)!::read(timer_.get(), &expirations, sizeof expirations);
  auto flushed = flush();
  if (!flushed && !failing_) log_warn("metrics: " + flushed.error().message + " (logged once until it recovers)");
  if (flushed && failing_) log_info("metrics: writing again to " + sink_->path());
  failing_ = !flushed;
}

}  // namespace ember
