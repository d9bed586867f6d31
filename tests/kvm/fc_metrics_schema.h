// Firecracker v1.16.1's metrics line, as a list of groups and their fields: what tools that
// parse Firecracker's metrics expect of every line. Derived by reading Firecracker's
// src/vmm/src/logger/metrics.rs (FirecrackerMetrics and its groups), the per-device metrics
// (devices/virtio/{block,net,vsock,balloon,rng,pmem,mem}/metrics.rs, devices/legacy/{serial,
// i8042}.rs) and tests/host_tools/fcmetrics.py (validate_fc_metrics), on x86_64 (no `rtc`).
//
// Notation of a field:
//   "name"      a counter: what happened since the previous line (SharedIncMetric)
//   "name="     a gauge: a value as it is now, the same in every line (SharedStoreMetric)
//   "name{}"    a latency aggregate: {"min_us"=, "max_us"=, "sum_us"} (LatencyAggregateMetrics)
// The line is one JSON object: "utc_timestamp_ms" (ms since the Unix epoch), then these groups,
// plus one `block_<drive_id>` per drive and one `net_<iface_id>` per network interface with
// the fields of `block` / `net`, and nothing else (fcmetrics.py refuses unknown keys).
//
// Shared by tests/unit/vmm/metrics/ (the report) and tests/kvm/ (the real binary): the two
// check ember's output against this list, which is kept apart from the code that writes it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::fc_schema {

struct Group {
  std::string_view name;
  std::vector<std::string_view> fields;
};

inline const std::vector<std::string_view>& block_fields() {
  static const std::vector<std::string_view> f{
      "activate_fails", "cfg_fails", "no_avail_buffer", "event_fails", "execute_fails",
      "invalid_reqs_count", "flush_count", "queue_event_count", "rate_limiter_event_count",
      "update_count", "update_fails", "read_bytes", "write_bytes", "read_count", "write_count",
      "read_agg{}", "write_agg{}", "rate_limiter_throttled_events", "io_engine_throttled_events",
      "remaining_reqs_count"};
  return f;
}

inline const std::vector<std::string_view>& net_fields() {
  static const std::vector<std::string_view> f{
      "activate_fails", "cfg_fails", "mac_address_updates", "no_rx_avail_buffer",
      "no_tx_avail_buffer", "event_fails", "rx_queue_event_count", "rx_event_rate_limiter_count",
      "rx_rate_limiter_throttled", "rx_tap_event_count", "rx_bytes_count", "rx_packets_count",
      "rx_fails", "rx_count", "tap_read_fails", "tap_write_fails", "tap_write_agg{}",
      "tx_bytes_count", "tx_malformed_frames", "tx_fails", "tx_count", "tx_packets_count",
      "tx_queue_event_count", "tx_rate_limiter_event_count", "tx_rate_limiter_throttled",
      "tx_spoofed_mac_count", "tx_remaining_reqs_count"};
  return f;
}

// Every group a line always has, in Firecracker's order.
inline const std::vector<Group>& groups() {
  static const std::vector<Group> g{
      {"api_server", {"process_startup_time_us=", "process_startup_time_cpu_us="}},
      {"balloon",
       {"activate_fails", "inflate_count", "stats_updates_count", "stats_update_fails", "deflate_count",
        "event_fails", "free_page_report_count", "free_page_report_freed", "free_page_report_fails",
        "free_page_hint_count", "free_page_hint_freed", "free_page_hint_fails"}},
      {"block", block_fields()},
      {"deprecated_api", {"deprecated_http_api_calls"}},
      {"get_api_requests",
       {"instance_info_count", "machine_cfg_count", "mmds_count", "vmm_version_count", "hotplug_memory_count"}},
      {"i8042", {"error_count", "missed_read_count", "missed_write_count", "read_count", "reset_count", "write_count"}},
      {"uart",
       {"error_count", "flush_count", "missed_read_count", "missed_write_count", "read_count", "write_count",
        "rate_limiter_dropped_bytes"}},
      {"latencies_us",
       {"full_create_snapshot=", "diff_create_snapshot=", "load_snapshot=", "pause_vm=", "resume_vm=",
        "vmm_full_create_snapshot=", "vmm_diff_create_snapshot=", "vmm_load_snapshot=", "vmm_pause_vm=",
        "vmm_resume_vm="}},
      {"logger", {"missed_metrics_count", "metrics_fails", "missed_log_count", "rate_limited_log_count"}},
      {"mmds",
       {"rx_accepted", "rx_accepted_err", "rx_accepted_unusual", "rx_bad_eth", "rx_invalid_token", "rx_no_token",
        "rx_count", "tx_bytes", "tx_count", "tx_errors", "tx_frames", "connections_created",
        "connections_destroyed"}},
      {"net", net_fields()},
      {"patch_api_requests",
       {"drive_count", "drive_fails", "network_count", "network_fails", "machine_cfg_count", "machine_cfg_fails",
        "mmds_count", "mmds_fails", "hotplug_memory_count", "hotplug_memory_fails", "pmem_count", "pmem_fails"}},
      {"put_api_requests",
       {"actions_count", "actions_fails", "boot_source_count", "boot_source_fails", "drive_count", "drive_fails",
        "logger_count", "logger_fails", "machine_cfg_count", "machine_cfg_fails", "cpu_cfg_count",
        "cpu_cfg_fails", "metrics_count", "metrics_fails", "network_count", "network_fails", "mmds_count",
        "mmds_fails", "vsock_count", "vsock_fails", "pmem_count", "pmem_fails", "serial_count", "serial_fails",
        "hotplug_memory_count", "hotplug_memory_fails"}},
      {"seccomp", {"num_faults="}},
      {"vcpu",
       {"exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures", "kvmclock_ctrl_fails",
        "exit_io_in_agg{}", "exit_io_out_agg{}", "exit_mmio_read_agg{}", "exit_mmio_write_agg{}"}},
      {"vmm", {"panic_count="}},
      {"signals", {"sigbus=", "sigsegv=", "sigxfsz=", "sigxcpu=", "sigpipe", "sighup=", "sigill="}},
      {"vsock",
       {"activate_fails", "cfg_fails", "rx_queue_event_fails", "tx_queue_event_fails", "ev_queue_event_fails",
        "muxer_event_fails", "conn_event_fails", "rx_queue_event_count", "tx_queue_event_count", "rx_bytes_count",
        "tx_bytes_count", "rx_packets_count", "tx_packets_count", "conns_added", "conns_killed", "conns_removed",
        "killq_resync", "tx_flush_fails", "tx_write_fails", "rx_read_fails"}},
      {"entropy",
       {"activate_fails", "entropy_event_fails", "entropy_event_count", "entropy_bytes", "host_rng_fails",
        "entropy_rate_limiter_throttled", "rate_limiter_event_count"}},
      {"pmem",
       {"activate_fails", "cfg_fails", "event_fails", "queue_event_count", "rate_limiter_throttled_events",
        "rate_limiter_event_count"}},
      {"interrupts", {"triggers", "config_updates"}},
      {"memory_hotplug",
       {"activate_fails", "queue_event_fails", "queue_event_count", "plug_count", "plug_bytes", "plug_fails",
        "plug_agg{}", "unplug_count", "unplug_bytes", "unplug_fails", "unplug_discard_fails", "unplug_agg{}",
        "state_count", "state_fails", "state_agg{}", "unplug_all_count", "unplug_all_fails", "unplug_all_agg{}"}},
  };
  return g;
}

// A field's name without its notation, and what it is.
enum class Kind { kCounter, kGauge, kLatency };
inline Kind kind_of(std::string_view field) {
  if (field.ends_with("{}")) return Kind::kLatency;
  if (field.ends_with("=")) return Kind::kGauge;
  return Kind::kCounter;
}
inline std::string name_of(std::string_view field) {
  if (field.ends_with("{}")) field.remove_suffix(2);
  if (field.ends_with("=")) field.remove_suffix(1);
  return std::string(field);
}

// The fields a group must have: its own list, or block's / net's for a per-device group.
inline const std::vector<std::string_view>* fields_of(const std::string& group) {
  for (const auto& g : groups())
    if (g.name == group) return &g.fields;
  if (group.starts_with("block_")) return &block_fields();
  if (group.starts_with("net_")) return &net_fields();
  return nullptr;
}

// What fcmetrics.py's validate_fc_metrics checks, as a list of problems (empty: the line is
// valid): every group and field present, every value a number, no key that is not listed.
inline std::vector<std::string> problems(const nlohmann::json& line) {
  std::vector<std::string> out;
  if (!line.is_object()) return {"not a JSON object"};
  if (!line.contains("utc_timestamp_ms") || !line["utc_timestamp_ms"].is_number())
    out.push_back("utc_timestamp_ms missing or not a number");
  for (const auto& g : groups())
    if (!line.contains(std::string(g.name))) out.push_back("group " + std::string(g.name) + " missing");
  for (const auto& [group, body] : line.items()) {
    if (group == "utc_timestamp_ms") continue;
    const auto* fields = fields_of(group);
    if (fields == nullptr) {
      out.push_back("unknown key " + group);
      continue;
    }
    if (!body.is_object()) {
      out.push_back(group + " is not an object");
      continue;
    }
    size_t expected = 0;
    for (std::string_view f : *fields) {
      const std::string name = name_of(f);
      ++expected;
      if (!body.contains(name)) {
        out.push_back(group + "." + name + " missing");
        continue;
      }
      const auto& v = body[name];
      if (kind_of(f) == Kind::kLatency) {
        if (!v.is_object() || v.size() != 3) {
          out.push_back(group + "." + name + " is not {min_us, max_us, sum_us}");
          continue;
        }
        for (const char* k : {"min_us", "max_us", "sum_us"})
          if (!v.contains(k) || !v[k].is_number_unsigned()) out.push_back(group + "." + name + "." + k + " missing");
      } else if (!v.is_number_unsigned()) {
        out.push_back(group + "." + name + " is not a number");
      }
    }
    if (body.size() != expected) out.push_back(group + " has keys that are not in Firecracker's schema: " + body.dump());
  }
  return out;
}

}  // namespace ember::fc_schema
