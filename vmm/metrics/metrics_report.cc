#include "vmm/metrics/metrics_report.h"

#include <functional>
#include <span>

#include <nlohmann/json.hpp>

namespace ember {
namespace {

using Json = nlohmann::ordered_json;  // keys in insertion order: Firecracker's order

// A counter that went backwards was reset (a device replaced): all of it is new.
uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

// Firecracker's LatencyAggregateMetrics: min and max as they are, the sum since the last line.
Json agg_json(const LatencyAgg& now, const LatencyAgg& before) {
  return Json{{"min_us", now.min_us}, {"max_us", now.max_us}, {"sum_us", delta(now.sum_us, before.sum_us)}};
}
const Json& zero_agg() {
  static const Json kZero = agg_json({}, {});
  return kZero;
}

// One key of a group read from a plain counters struct T.
//   kCounter: a total since start in T, reported as the delta since the last line;
//   kGauge:   a value reported as it is;
//   kZero:    a key Firecracker has that ember cannot measure (the table says why): always 0;
//   kZeroAgg: the same for a latency aggregate ({"min_us": 0, "max_us": 0, "sum_us": 0}).
enum class Kind { kCounter, kGauge, kZero, kZeroAgg };
template <class T>
struct Field {
  const char* key;
  uint64_t (*get)(const T&) = nullptr;
  Kind kind = Kind::kCounter;
};

// The tables read members through small lambdas, so that a key may also be computed.
#define MEMBER(T, m) [](const T& c) -> uint64_t { return c.m; }

// block / block_<drive_id>: Firecracker's BlockDeviceMetrics, in its order.
using B = VirtioBlockCounters;
const Field<B> kBlockFields[] = {
    // ember's activation failures stop the device and are logged, not counted.
    {"activate_fails", nullptr, Kind::kZero},
    {"cfg_fails", MEMBER(B, config_writes)},
    {"no_avail_buffer", MEMBER(B, no_avail_buffer)},
    {"event_fails", MEMBER(B, queue_errors)},
    {"execute_fails", MEMBER(B, execute_errors)},
    {"invalid_reqs_count", MEMBER(B, invalid_requests)},
    {"flush_count", MEMBER(B, flush_requests)},
    {"queue_event_count", MEMBER(B, queue_notifications)},
    {"rate_limiter_event_count", MEMBER(B, limiter_events)},
    {"update_count", MEMBER(B, updates)},
    {"update_fails", MEMBER(B, update_errors)},
    {"read_bytes", MEMBER(B, read_bytes)},
    {"write_bytes", MEMBER(B, write_bytes)},
    {"read_count", MEMBER(B, read_requests)},
    {"write_count", MEMBER(B, write_requests)},
    // Per-request disk latencies are not timed (Firecracker times them for its Sync engine only).
    {"read_agg", nullptr, Kind::kZeroAgg},
    {"write_agg", nullptr, Kind::kZeroAgg},
    {"rate_limiter_throttled_events", MEMBER(B, rate_limited)},
    // ember's io_uring engine waits for room rather than throttling the queue.
    {"io_engine_throttled_events", nullptr, Kind::kZero},
    // ember serves a queue to its end in one go (one ring's worth); nothing is left counted.
    {"remaining_reqs_count", nullptr, Kind::kZero},
};

// net / net_<iface_id>: Firecracker's NetDeviceMetrics, in its order.
using N = VirtioNetCounters;
const Field<N> kNetFields[] = {
    {"activate_fails", nullptr, Kind::kZero},  // as for block
    {"cfg_fails", MEMBER(N, config_writes)},
    // The MAC is read-only to the guest (no VIRTIO_NET_F_CTRL_MAC_ADDR): it never changes.
    {"mac_address_updates", nullptr, Kind::kZero},
    // ember waits for the driver's notification rather than counting empty queues.
    {"no_rx_avail_buffer", nullptr, Kind::kZero},
    {"no_tx_avail_buffer", nullptr, Kind::kZero},
    {"event_fails", MEMBER(N, queue_errors)},
    {"rx_queue_event_count", MEMBER(N, rx_queue_notifications)},
    {"rx_event_rate_limiter_count", MEMBER(N, rx_limiter_events)},
    {"rx_rate_limiter_throttled", MEMBER(N, rx_rate_limited)},
    {"rx_tap_event_count", MEMBER(N, backend_events)},
    {"rx_bytes_count", MEMBER(N, rx_bytes)},
    {"rx_packets_count", MEMBER(N, rx_packets)},
    {"rx_fails", MEMBER(N, rx_errors)},
    {"rx_count", MEMBER(N, rx_packets)},  // one successful tap read per frame delivered
    {"tap_read_fails", MEMBER(N, rx_read_errors)},
    {"tap_write_fails", MEMBER(N, tx_errors)},
    {"tap_write_agg", nullptr, Kind::kZeroAgg},  // tap writes are not timed
    {"tx_bytes_count", MEMBER(N, tx_bytes)},
    {"tx_malformed_frames", MEMBER(N, tx_malformed)},
    {"tx_fails", MEMBER(N, tx_errors)},
    {"tx_count", MEMBER(N, tx_packets)},  // one successful tap write per frame sent
    {"tx_packets_count", MEMBER(N, tx_packets)},
    {"tx_queue_event_count", MEMBER(N, tx_queue_notifications)},
    {"tx_rate_limiter_event_count", MEMBER(N, tx_limiter_events)},
    {"tx_rate_limiter_throttled", MEMBER(N, tx_rate_limited)},
    // The source MAC of guest frames is not checked (Firecracker only counts them too).
    {"tx_spoofed_mac_count", nullptr, Kind::kZero},
    {"tx_remaining_reqs_count", nullptr, Kind::kZero},  // as for block
};

// vsock: Firecracker's VsockDeviceMetrics, in its order.
using V = VirtioVsockCounters;
const Field<V> kVsockFields[] = {
    {"activate_fails", nullptr, Kind::kZero},  // as for block
    {"cfg_fails", MEMBER(V, config_writes)},
    // ember's queue failures (queue_errors) are not told apart by queue; the per-queue, muxer
    // and connection event failures of Firecracker's design have no counterpart.
    {"rx_queue_event_fails", nullptr, Kind::kZero},
    {"tx_queue_event_fails", nullptr, Kind::kZero},
    {"ev_queue_event_fails", nullptr, Kind::kZero},
    {"muxer_event_fails", nullptr, Kind::kZero},
    {"conn_event_fails", nullptr, Kind::kZero},
    {"rx_queue_event_count", MEMBER(V, rx_queue_notifications)},
    {"tx_queue_event_count", MEMBER(V, tx_queue_notifications)},
    {"rx_bytes_count", MEMBER(V, rx_bytes)},
    {"tx_bytes_count", MEMBER(V, tx_bytes)},
    {"rx_packets_count", MEMBER(V, rx_packets)},
    {"tx_packets_count", MEMBER(V, tx_packets)},
    {"conns_added", [](const V& c) -> uint64_t { return c.host_connections + c.guest_connections; }},
    {"conns_killed", MEMBER(V, connect_timeouts)},  // ended by ember for want of an answer
    // Every connection added is open or gone: the gone ones are the removed ones.
    {"conns_removed",
     [](const V& c) -> uint64_t {
       const uint64_t added = c.host_connections + c.guest_connections;
       return added >= c.active_connections ? added - c.active_connections : 0;
     }},
    {"killq_resync", nullptr, Kind::kZero},  // no kill queue: each connection has its own timer
    // Socket errors end the connection with a reset (resets_sent) and are not counted apart.
    {"tx_flush_fails", nullptr, Kind::kZero},
    {"tx_write_fails", nullptr, Kind::kZero},
    {"rx_read_fails", nullptr, Kind::kZero},
};

// uart: Firecracker's SerialDeviceMetrics.
using S = SerialCounters;
const Field<S> kUartFields[] = {
    {"error_count", nullptr, Kind::kZero},  // the console's output sink drops nothing it is given
    {"flush_count", nullptr, Kind::kZero},  // Firecracker v1.16.1 never counts it either
    {"missed_read_count", MEMBER(S, missed_read_count)},
    {"missed_write_count", MEMBER(S, missed_write_count)},
    {"read_count", MEMBER(S, read_count)},
    {"write_count", MEMBER(S, write_count)},
    {"rate_limiter_dropped_bytes", nullptr, Kind::kZero},  // no serial rate limiter (PUT /serial)
};

// i8042: Firecracker's I8042DeviceMetrics.
using K = I8042Counters;
const Field<K> kI8042Fields[] = {
    {"error_count", nullptr, Kind::kZero},  // the reset callback cannot fail
    {"missed_read_count", MEMBER(K, missed_read_count)},
    {"missed_write_count", MEMBER(K, missed_write_count)},
    {"read_count", MEMBER(K, read_count)},
    {"reset_count", MEMBER(K, reset_count)},
    {"write_count", MEMBER(K, write_count)},
};

// vcpu: Firecracker's VcpuMetrics (its latency aggregates are added by vcpu_json()).
using C = VcpuExitCounters;
const Field<C> kVcpuFields[] = {
    {"exit_io_in", MEMBER(C, io_in)},
    {"exit_io_out", MEMBER(C, io_out)},
    {"exit_mmio_read", MEMBER(C, mmio_read)},
    {"exit_mmio_write", MEMBER(C, mmio_write)},
    {"failures", MEMBER(C, failures)},
    {"kvmclock_ctrl_fails", MEMBER(C, kvmclock_ctrl_fails)},
};

// mmds: Firecracker's MmdsMetrics, counted by the metadata service (mmds/counters.h).
using M = MmdsCounters;
const Field<M> kMmdsFields[] = {
    {"rx_accepted", MEMBER(M, rx_accepted)},
    {"rx_accepted_err", MEMBER(M, rx_accepted_err)},
    {"rx_accepted_unusual", MEMBER(M, rx_accepted_unusual)},
    {"rx_bad_eth", MEMBER(M, rx_bad_eth)},
    {"rx_invalid_token", MEMBER(M, rx_invalid_token)},
    {"rx_no_token", MEMBER(M, rx_no_token)},
    {"rx_count", MEMBER(M, rx_count)},
    {"tx_bytes", MEMBER(M, tx_bytes)},
    {"tx_count", MEMBER(M, tx_count)},
    {"tx_errors", MEMBER(M, tx_errors)},
    {"tx_frames", MEMBER(M, tx_frames)},
    {"connections_created", MEMBER(M, connections_created)},
    {"connections_destroyed", MEMBER(M, connections_destroyed)},
};

#undef MEMBER

template <class T>
uint64_t value_of(const Field<T>& f, const T& now, const T& before) {
  switch (f.kind) {
    case Kind::kCounter: return delta(f.get(now), f.get(before));
    case Kind::kGauge: return f.get(now);
    default: return 0;
  }
}

template <class T>
Json group_json(const T& now, const T& before, std::span<const Field<T>> fields) {
  Json j = Json::object();
  for (const auto& f : fields) {
    if (f.kind == Kind::kZeroAgg) j[f.key] = zero_agg();
    else j[f.key] = value_of(f, now, before);
  }
  return j;
}

template <class T>
const T* find(const std::map<std::string, T>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

// block_<id>... then block (net likewise), as Firecracker writes them: the per-device groups,
// then their sum (whose latency aggregates Firecracker leaves at 0 but for the sum).
template <class T>
void add_device_groups(Json* out, const std::string& prefix, const std::map<std::string, T>* now,
                       const std::map<std::string, T>* before, std::span<const Field<T>> fields) {
  Json total = group_json(T{}, T{}, fields);
  if (now != nullptr) {
    for (const auto& [id, counters] : *now) {
      const T* old = before != nullptr ? find(*before, id) : nullptr;
      Json device = group_json(counters, old != nullptr ? *old : T{}, fields);
      for (const auto& f : fields)
        if (f.kind != Kind::kZeroAgg) total[f.key] = total[f.key].template get<uint64_t>() + device[f.key].template get<uint64_t>();
      (*out)[prefix + "_" + id] = std::move(device);
    }
  }
  (*out)[prefix] = std::move(total);
}

// Firecracker's get/put/patch_api_requests: per resource, the requests and (but for GET) the
// ones refused before reaching the VMM. `resource` is api_resource_key()'s "<METHOD> /<segment>".
struct RequestField {
  const char* name;      // "drive" gives drive_count and drive_fails
  const char* resource;  // "/drives"
};
const RequestField kGetRequests[] = {
    {"instance_info", "/"},  {"machine_cfg", "/machine-config"}, {"mmds", "/mmds"},
    {"vmm_version", "/version"}, {"hotplug_memory", "/hotplug"},
};
const RequestField kPutRequests[] = {
    {"actions", "/actions"}, {"boot_source", "/boot-source"}, {"drive", "/drives"},
    {"logger", "/logger"}, {"machine_cfg", "/machine-config"}, {"cpu_cfg", "/cpu-config"},
    {"metrics", "/metrics"}, {"network", "/network-interfaces"}, {"mmds", "/mmds"},
    {"vsock", "/vsock"}, {"pmem", "/pmem"}, {"serial", "/serial"}, {"hotplug_memory", "/hotplug"},
};
const RequestField kPatchRequests[] = {
    {"drive", "/drives"}, {"network", "/network-interfaces"}, {"machine_cfg", "/machine-config"},
    {"mmds", "/mmds"}, {"hotplug_memory", "/hotplug"}, {"pmem", "/pmem"},
};

Json requests_json(const ApiServerStats& now, const ApiServerStats& before, const char* method,
                   std::span<const RequestField> fields, bool with_fails) {
  static const ApiResourceStats kNone;
  Json j = Json::object();
  for (const auto& f : fields) {
    const std::string key = std::string(method) + " " + f.resource;
    const ApiResourceStats* n = find(now.resources, key);
    const ApiResourceStats* b = find(before.resources, key);
    const ApiResourceStats& a = n != nullptr ? *n : kNone;
    const ApiResourceStats& p = b != nullptr ? *b : kNone;
    j[std::string(f.name) + "_count"] = delta(a.requests, p.requests);
    if (with_fails) j[std::string(f.name) + "_fails"] = delta(a.refused, p.refused);
  }
  return j;
}

// latencies_us: Firecracker's PerformanceMetrics, gauges (the last value stays until replaced).
Json latencies_json(const ApiServerStats& api, const std::map<std::string, uint64_t>& vmm) {
  static const char* const kNames[] = {"full_create_snapshot", "diff_create_snapshot", "load_snapshot", "pause_vm",
                                       "resume_vm"};
  Json j = Json::object();
  for (const char* n : kNames) j[n] = api.latest_latency_us.contains(n) ? api.latest_latency_us.at(n) : 0;
  for (const char* n : kNames) {
    const std::string key = std::string("vmm_") + n;
    j[key] = vmm.contains(key) ? vmm.at(key) : 0;
  }
  return j;
}

Json vcpu_json(const VcpuExitCounters& now, const VcpuExitCounters& before) {
  Json j = group_json(now, before, std::span<const Field<C>>(kVcpuFields));
  j["exit_io_in_agg"] = agg_json(now.io_in_agg, before.io_in_agg);
  j["exit_io_out_agg"] = agg_json(now.io_out_agg, before.io_out_agg);
  j["exit_mmio_read_agg"] = agg_json(now.mmio_read_agg, before.mmio_read_agg);
  j["exit_mmio_write_agg"] = agg_json(now.mmio_write_agg, before.mmio_write_agg);
  return j;
}

Json zeros(std::initializer_list<const char*> keys) {
  Json j = Json::object();
  for (const char* k : keys) {
    std::string_view key(k);
    if (key.ends_with("{}")) j[std::string(key.substr(0, key.size() - 2))] = zero_agg();
    else j[k] = 0;
  }
  return j;
}

}  // namespace

std::string metrics_line(const MetricsSnapshot& now, const MetricsSnapshot& previous, uint64_t utc_timestamp_ms) {
  static const VmCounters kNoVm;
  static const ApiServerStats kNoApi;
  const VmCounters& vm = now.vm ? *now.vm : kNoVm;
  const VmCounters& old_vm = previous.vm ? *previous.vm : kNoVm;
  const ApiServerStats& api = now.api_server ? *now.api_server : kNoApi;
  const ApiServerStats& old_api = previous.api_server ? *previous.api_server : kNoApi;

  Json j = Json::object();
  j["utc_timestamp_ms"] = utc_timestamp_ms;
  j["api_server"] = Json{{"process_startup_time_us", now.process_startup_time_us},
                         {"process_startup_time_cpu_us", now.process_startup_time_cpu_us}};
  // Firecracker prints the groups of the devices it has but ember does not (balloon, entropy,
  // pmem, memory hotplug) in every line, whether or not a VM uses them: so does ember, with
  // zeros, so that parsers find them.
  j["balloon"] = zeros({"activate_fails", "inflate_count", "stats_updates_count", "stats_update_fails",
                        "deflate_count", "event_fails", "free_page_report_count", "free_page_report_freed",
                        "free_page_report_fails", "free_page_hint_count", "free_page_hint_freed",
                        "free_page_hint_fails"});
  add_device_groups<VirtioBlockCounters>(&j, "block", now.vm ? &vm.blocks : nullptr,
                                         previous.vm ? &old_vm.blocks : nullptr, kBlockFields);
  j["deprecated_api"] = Json{{"deprecated_http_api_calls", delta(api.deprecated_requests, old_api.deprecated_requests)}};
  j["get_api_requests"] = requests_json(api, old_api, "GET", kGetRequests, /*with_fails=*/false);
  j["i8042"] = group_json(vm.i8042, old_vm.i8042, std::span<const Field<K>>(kI8042Fields));
  j["uart"] = group_json(vm.uart, old_vm.uart, std::span<const Field<S>>(kUartFields));
  j["latencies_us"] = latencies_json(api, now.vmm_latency_us);
  j["logger"] = Json{{"missed_metrics_count", delta(now.sink.lines_dropped, previous.sink.lines_dropped)},
                     {"metrics_fails", delta(now.sink.write_failures, previous.sink.write_failures)},
                     // ember's log writes are not checked for loss, and it rate-limits no log line
                     // (guest-caused problems are logged a few times, then not at all).
                     {"missed_log_count", 0},
                     {"rate_limited_log_count", 0}};
  j["mmds"] = group_json(now.mmds, previous.mmds, std::span<const Field<M>>(kMmdsFields));
  add_device_groups<VirtioNetCounters>(&j, "net", now.vm ? &vm.nets : nullptr, previous.vm ? &old_vm.nets : nullptr,
                                       kNetFields);
  j["patch_api_requests"] = requests_json(api, old_api, "PATCH", kPatchRequests, true);
  j["put_api_requests"] = requests_json(api, old_api, "PUT", kPutRequests, true);
  // A seccomp violation kills ember at once (SCMP_ACT_KILL_PROCESS, or SIGSYS's default action
  // for a filter file's "trap"): no line can follow one, so the count is always 0 in a line.
  j["seccomp"] = Json{{"num_faults", 0}};
  j["vcpu"] = vcpu_json(vm.vcpu, old_vm.vcpu);
  // A broken invariant aborts ember (CHECK) without a last line: panics never show as 1.
  j["vmm"] = Json{{"panic_count", 0}};
  // Firecracker's handlers for the deadly signals write a last line; ember leaves SIGBUS,
  // SIGSEGV, SIGXFSZ, SIGXCPU and SIGILL at their default (the process ends without one) and
  // ignores SIGPIPE (writes see EPIPE). SIGHUP stops ember in order, so its last line shows it.
  j["signals"] = Json{{"sigbus", 0}, {"sigsegv", 0}, {"sigxfsz", 0}, {"sigxcpu", 0},
                      {"sigpipe", 0}, {"sighup", now.sighup}, {"sigill", 0}};
  const VirtioVsockCounters vsock_now = vm.vsock ? *vm.vsock : VirtioVsockCounters{};
  const VirtioVsockCounters vsock_before = old_vm.vsock ? *old_vm.vsock : VirtioVsockCounters{};
  j["vsock"] = group_json(vsock_now, vsock_before, std::span<const Field<V>>(kVsockFields));
  j["entropy"] = zeros({"activate_fails", "entropy_event_fails", "entropy_event_count", "entropy_bytes",
                        "host_rng_fails", "entropy_rate_limiter_throttled", "rate_limiter_event_count"});
  // Firecracker always prints the pmem sum (pmem_<id> groups only with devices).
  j["pmem"] = zeros({"activate_fails", "cfg_fails", "event_fails", "queue_event_count",
                     "rate_limiter_throttled_events", "rate_limiter_event_count"});
  // config_updates counts MSI-X vector changes: ember's devices are on virtio-mmio, no MSI-X.
  j["interrupts"] = Json{{"triggers", delta(vm.interrupt_triggers, old_vm.interrupt_triggers)}, {"config_updates", 0}};
  j["memory_hotplug"] = zeros({"activate_fails", "queue_event_fails", "queue_event_count", "plug_count",
                               "plug_bytes", "plug_fails", "plug_agg{}", "unplug_count", "unplug_bytes",
                               "unplug_fails", "unplug_discard_fails", "unplug_agg{}", "state_count",
                               "state_fails", "state_agg{}", "unplug_all_count", "unplug_all_fails",
                               "unplug_all_agg{}"});
  return j.dump();
}

}  // namespace ember
