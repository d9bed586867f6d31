#include "vmm/metrics/metrics_report.h"

#include <span>

#include <nlohmann/json.hpp>

namespace ember {
namespace {

using Json = nlohmann::ordered_json;  // keys in insertion order: utc_timestamp_ms first

// A counter that went backwards was reset (a device replaced): all of it is new.
uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

// One key of a group: the struct member it reads and whether it is a gauge (reported as is)
// rather than a counter (reported as a delta).
template <class T>
struct Field {
  const char* key;
  uint64_t T::*member;
  bool gauge = false;
};

const Field<VirtioBlockCounters> kBlockFields[] = {
    {"read_count", &VirtioBlockCounters::read_requests},
    {"write_count", &VirtioBlockCounters::write_requests},
    {"flush_count", &VirtioBlockCounters::flush_requests},
    {"get_id_count", &VirtioBlockCounters::get_id_requests},
    {"read_bytes", &VirtioBlockCounters::read_bytes},
    {"write_bytes", &VirtioBlockCounters::write_bytes},
    {"io_fails", &VirtioBlockCounters::io_errors},
    {"unsupported_count", &VirtioBlockCounters::unsupported},
    {"rate_limiter_throttled_events", &VirtioBlockCounters::rate_limited},
    {"queue_fails", &VirtioBlockCounters::queue_errors},
};

const Field<VirtioNetCounters> kNetFields[] = {
    {"rx_packets_count", &VirtioNetCounters::rx_packets},
    {"rx_bytes_count", &VirtioNetCounters::rx_bytes},
    {"rx_dropped", &VirtioNetCounters::rx_dropped},
    {"rx_fails", &VirtioNetCounters::rx_errors},
    {"rx_rate_limiter_throttled", &VirtioNetCounters::rx_rate_limited},
    {"tx_packets_count", &VirtioNetCounters::tx_packets},
    {"tx_bytes_count", &VirtioNetCounters::tx_bytes},
    {"tx_dropped", &VirtioNetCounters::tx_dropped},
    {"tx_fails", &VirtioNetCounters::tx_errors},
    {"tx_rate_limiter_throttled", &VirtioNetCounters::tx_rate_limited},
    {"queue_fails", &VirtioNetCounters::queue_errors},
};

const Field<VirtioVsockCounters> kVsockFields[] = {
    {"host_connections", &VirtioVsockCounters::host_connections},
    {"guest_connections", &VirtioVsockCounters::guest_connections},
    {"active_connections", &VirtioVsockCounters::active_connections, true},
    {"refused_connections", &VirtioVsockCounters::refused_connections},
    {"connect_timeouts", &VirtioVsockCounters::connect_timeouts},
    {"rx_bytes_count", &VirtioVsockCounters::rx_bytes},
    {"tx_bytes_count", &VirtioVsockCounters::tx_bytes},
    {"rx_packets_count", &VirtioVsockCounters::rx_packets},
    {"tx_packets_count", &VirtioVsockCounters::tx_packets},
    {"resets_sent", &VirtioVsockCounters::resets_sent},
    {"resets_received", &VirtioVsockCounters::resets_received},
    {"bad_packets", &VirtioVsockCounters::bad_packets},
    {"transport_resets", &VirtioVsockCounters::transport_resets},
    {"queue_fails", &VirtioVsockCounters::queue_errors},
};

const Field<VcpuExitCounters> kVcpuFields[] = {
    {"exit_io_in", &VcpuExitCounters::io_in},
    {"exit_io_out", &VcpuExitCounters::io_out},
    {"exit_mmio_read", &VcpuExitCounters::mmio_read},
    {"exit_mmio_write", &VcpuExitCounters::mmio_write},
    {"exit_hlt", &VcpuExitCounters::hlt},
    {"exit_shutdown", &VcpuExitCounters::shutdown},
    {"exit_system_event", &VcpuExitCounters::system_event},
    {"exit_internal_error", &VcpuExitCounters::internal_error},
    {"exit_fail_entry", &VcpuExitCounters::fail_entry},
    {"exit_other", &VcpuExitCounters::other},
    {"failures", &VcpuExitCounters::failures},
};

// What a group reports: counters as deltas against `before`, gauges as they are now.
template <class T>
T reported(const T& now, const T& before, std::span<const Field<T>> fields) {
  T out{};
  for (const auto& f : fields) out.*f.member = f.gauge ? now.*f.member : delta(now.*f.member, before.*f.member);
  return out;
}

template <class T>
void add_to(T* sum, const T& more, std::span<const Field<T>> fields) {
  for (const auto& f : fields) (*sum).*f.member += more.*f.member;
}

template <class T>
Json group_json(const T& values, std::span<const Field<T>> fields) {
  Json j = Json::object();
  for (const auto& f : fields) j[f.key] = values.*f.member;
  return j;
}

template <class T>
const T* find(const std::map<std::string, T>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

// block, block_<id>... or net, net_<id>...: the sum first, then one group per device.
template <class T>
void add_device_groups(Json* out, const std::string& prefix, const std::map<std::string, T>* now,
                       const std::map<std::string, T>* before, std::span<const Field<T>> fields) {
  T total{};
  Json per_device = Json::object();
  if (now != nullptr) {
    for (const auto& [id, counters] : *now) {
      const T* old = before != nullptr ? find(*before, id) : nullptr;
      const T r = reported(counters, old != nullptr ? *old : T{}, fields);
      add_to(&total, r, fields);
      per_device[prefix + "_" + id] = group_json(r, fields);
    }
  }
  (*out)[prefix] = group_json(total, fields);
  for (auto& [key, value] : per_device.items()) (*out)[key] = std::move(value);
}

Json api_server_json(const MetricsSnapshot& now, const MetricsSnapshot& previous) {
  static const ApiServerStats kNone;
  const ApiServerStats& s = now.api_server ? *now.api_server : kNone;
  const ApiServerStats& p = previous.api_server ? *previous.api_server : kNone;
  Json endpoints = Json::object();
  uint64_t requests = 0;
  uint64_t failures = 0;
  uint64_t latency = 0;
  static const ApiEndpointStats kNoRequests;
  for (const auto& [name, e] : s.endpoints) {
    const ApiEndpointStats* old = find(p.endpoints, name);
    const ApiEndpointStats& b = old != nullptr ? *old : kNoRequests;
    const uint64_t n = delta(e.requests, b.requests);
    const uint64_t f = delta(e.failures, b.failures);
    const uint64_t l = delta(e.total_latency_us, b.total_latency_us);
    requests += n;
    failures += f;
    latency += l;
    endpoints[name] = Json{{"count", n}, {"fails", f}, {"latency_sum_us", l}, {"latency_max_us", e.max_latency_us}};
  }
  Json j = Json::object();
  j["process_startup_time_us"] = now.process_startup_time_us;
  j["process_startup_time_cpu_us"] = now.process_startup_time_cpu_us;
  j["connections_accepted"] = delta(s.connections_accepted, p.connections_accepted);
  j["connections_refused"] = delta(s.connections_refused, p.connections_refused);
  j["bad_http_requests"] = delta(s.bad_http, p.bad_http);
  j["requests_count"] = requests;
  j["requests_fails"] = failures;
  j["latency_sum_us"] = latency;
  j["endpoints"] = std::move(endpoints);
  return j;
}

}  // namespace

std::string metrics_line(const MetricsSnapshot& now, const MetricsSnapshot& previous, uint64_t utc_timestamp_ms) {
  const VmCounters* vm = now.vm ? &*now.vm : nullptr;
  const VmCounters* old_vm = previous.vm ? &*previous.vm : nullptr;

  Json j = Json::object();
  j["utc_timestamp_ms"] = utc_timestamp_ms;
  j["api_server"] = api_server_json(now, previous);
  add_device_groups<VirtioBlockCounters>(&j, "block", vm ? &vm->blocks : nullptr,
                                         old_vm ? &old_vm->blocks : nullptr, kBlockFields);
  add_device_groups<VirtioNetCounters>(&j, "net", vm ? &vm->nets : nullptr, old_vm ? &old_vm->nets : nullptr,
                                       kNetFields);
  const VirtioVsockCounters vsock_now = vm && vm->vsock ? *vm->vsock : VirtioVsockCounters{};
  const VirtioVsockCounters vsock_before = old_vm && old_vm->vsock ? *old_vm->vsock : VirtioVsockCounters{};
  j["vsock"] = group_json(reported<VirtioVsockCounters>(vsock_now, vsock_before, kVsockFields),
                          std::span<const Field<VirtioVsockCounters>>(kVsockFields));
  const VcpuExitCounters vcpu_now = vm ? vm->vcpu : VcpuExitCounters{};
  const VcpuExitCounters vcpu_before = old_vm ? old_vm->vcpu : VcpuExitCounters{};
  j["vcpu"] = group_json(reported<VcpuExitCounters>(vcpu_now, vcpu_before, kVcpuFields),
                         std::span<const Field<VcpuExitCounters>>(kVcpuFields));
  j["vmm"] = Json{{"uptime_ms", now.uptime_ms}};
  j["logger"] = Json{{"missed_metrics_count", delta(now.sink.lines_dropped, previous.sink.lines_dropped)},
                     {"metrics_fails", delta(now.sink.write_failures, previous.sink.write_failures)}};
  return j.dump();
}

}  // namespace ember
