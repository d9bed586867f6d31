// The metrics line: its shape (keys, order, groups always there) and its arithmetic (counters
// as deltas since the previous line, gauges as they are, per-device groups and their sums).
#include "vmm/metrics/metrics_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ember {
namespace {

using Json = nlohmann::ordered_json;

Json parse(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line, no newline";
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << line;
  return j;
}

std::vector<std::string> keys(const Json& j) {
  std::vector<std::string> out;
  for (const auto& [key, _] : j.items()) out.push_back(key);
  return out;
}

ApiServerStats api_stats(uint64_t get_root, uint64_t put_drive, uint64_t put_drive_fails, uint64_t latency) {
  ApiServerStats s;
  s.endpoints["GET /"] = {get_root, 0, latency, 40};
  s.endpoints["PUT /drives/{drive_id}"] = {put_drive, put_drive_fails, 2 * latency, 90};
  s.connections_accepted = get_root;
  return s;
}

TEST(MetricsLine, ShapeBeforeAnythingHappened) {
  const Json j = parse(metrics_line(MetricsSnapshot{}, MetricsSnapshot{}, 1700000000123));
  EXPECT_EQ(keys(j), (std::vector<std::string>{"utc_timestamp_ms", "api_server", "block", "net", "vsock", "vcpu",
                                               "vmm", "logger"}));
  EXPECT_EQ(j["utc_timestamp_ms"], 1700000000123u);
  EXPECT_EQ(j["api_server"]["requests_count"], 0u);
  EXPECT_TRUE(j["api_server"]["endpoints"].empty());
  EXPECT_EQ(j["block"]["read_count"], 0u);
  EXPECT_EQ(j["net"]["tx_bytes_count"], 0u);
  EXPECT_EQ(j["vsock"]["active_connections"], 0u);
  for (const char* k : {"exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "exit_hlt",
                        "exit_shutdown", "failures"})
    EXPECT_EQ(j["vcpu"][k], 0u) << k;
  EXPECT_EQ(j["logger"]["missed_metrics_count"], 0u);
  // Every value is a number: the line is flat enough for any metrics shipper.
  for (const auto& [group, body] : j.items()) {
    if (group == "utc_timestamp_ms") continue;
    for (const auto& [key, value] : body.items()) {
      if (key != "endpoints") {
        EXPECT_TRUE(value.is_number_unsigned()) << group << "." << key;
      }
    }
  }
}

TEST(MetricsLine, ApiServerCountsAreDeltasAndMaxLatencyIsAGauge) {
  MetricsSnapshot before;
  before.api_server = api_stats(5, 3, 1, 100);
  MetricsSnapshot now;
  now.api_server = api_stats(8, 7, 2, 130);
  now.api_server->endpoints["PUT /actions"] = {1, 1, 7, 7};
  now.process_startup_time_us = 4321;
  now.process_startup_time_cpu_us = 1234;

  const Json api = parse(metrics_line(now, before, 1))["api_server"];
  EXPECT_EQ(api["process_startup_time_us"], 4321u);
  EXPECT_EQ(api["process_startup_time_cpu_us"], 1234u);
  EXPECT_EQ(api["connections_accepted"], 3u);
  const Json& e = api["endpoints"];
  EXPECT_EQ(e["GET /"]["count"], 3u);
  EXPECT_EQ(e["GET /"]["fails"], 0u);
  EXPECT_EQ(e["GET /"]["latency_sum_us"], 30u);
  EXPECT_EQ(e["GET /"]["latency_max_us"], 40u);
  EXPECT_EQ(e["PUT /drives/{drive_id}"]["count"], 4u);
  EXPECT_EQ(e["PUT /drives/{drive_id}"]["fails"], 1u);
  EXPECT_EQ(e["PUT /drives/{drive_id}"]["latency_sum_us"], 60u);
  EXPECT_EQ(e["PUT /actions"]["count"], 1u) << "a new endpoint counts from zero";
  EXPECT_EQ(api["requests_count"], 8u);
  EXPECT_EQ(api["requests_fails"], 2u);
  EXPECT_EQ(api["latency_sum_us"], 97u);

  // Nothing new since: zeros, but the endpoints stay listed.
  const Json idle = parse(metrics_line(now, now, 2))["api_server"];
  EXPECT_EQ(idle["requests_count"], 0u);
  EXPECT_EQ(idle["endpoints"]["PUT /actions"]["count"], 0u);
  EXPECT_EQ(idle["endpoints"]["GET /"]["latency_max_us"], 40u);
}

TEST(MetricsLine, DevicesGetTheirOwnGroupsAndTheirSum) {
  MetricsSnapshot before;
  before.vm = VmCounters{};
  before.vm->blocks["rootfs"].read_requests = 10;
  before.vm->blocks["rootfs"].read_bytes = 4096;
  MetricsSnapshot now;
  now.vm = VmCounters{};
  now.vm->blocks["rootfs"].read_requests = 15;
  now.vm->blocks["rootfs"].read_bytes = 6144;
  now.vm->blocks["scratch"].write_requests = 2;
  now.vm->blocks["scratch"].queue_errors = 1;
  now.vm->nets["eth0"].rx_packets = 9;
  now.vm->nets["eth0"].tx_rate_limited = 4;
  now.vm->vsock = VirtioVsockCounters{};
  now.vm->vsock->active_connections = 3;
  now.vm->vsock->tx_bytes = 100;
  now.vm->vcpu.io_out = 50;
  now.vm->vcpu.mmio_write = 7;

  const Json j = parse(metrics_line(now, before, 1));
  EXPECT_EQ(keys(j), (std::vector<std::string>{"utc_timestamp_ms", "api_server", "block", "block_rootfs",
                                               "block_scratch", "net", "net_eth0", "vsock", "vcpu", "vmm",
                                               "logger"}));
  EXPECT_EQ(j["block_rootfs"]["read_count"], 5u);
  EXPECT_EQ(j["block_rootfs"]["read_bytes"], 2048u);
  EXPECT_EQ(j["block_scratch"]["write_count"], 2u);
  EXPECT_EQ(j["block_scratch"]["queue_fails"], 1u);
  EXPECT_EQ(j["block"]["read_count"], 5u);
  EXPECT_EQ(j["block"]["write_count"], 2u);
  EXPECT_EQ(j["net_eth0"]["rx_packets_count"], 9u);
  EXPECT_EQ(j["net"]["tx_rate_limiter_throttled"], 4u);
  EXPECT_EQ(j["vsock"]["active_connections"], 3u);
  EXPECT_EQ(j["vsock"]["tx_bytes_count"], 100u);
  EXPECT_EQ(j["vcpu"]["exit_io_out"], 50u);
  EXPECT_EQ(j["vcpu"]["exit_mmio_write"], 7u);

  // The next line: counters back to zero, the gauge stays.
  const Json again = parse(metrics_line(now, now, 2));
  EXPECT_EQ(again["block_rootfs"]["read_count"], 0u);
  EXPECT_EQ(again["vcpu"]["exit_io_out"], 0u);
  EXPECT_EQ(again["vsock"]["tx_bytes_count"], 0u);
  EXPECT_EQ(again["vsock"]["active_connections"], 3u);
}

TEST(MetricsLine, ACounterThatWentBackwardsIsReportedWhole) {
  MetricsSnapshot before;
  before.vm = VmCounters{};
  before.vm->blocks["d"].write_requests = 100;
  MetricsSnapshot now;
  now.vm = VmCounters{};
  now.vm->blocks["d"].write_requests = 3;
  EXPECT_EQ(parse(metrics_line(now, before, 1))["block_d"]["write_count"], 3u);
}

TEST(MetricsLine, GaugesAndSinkCounters) {
  MetricsSnapshot before;
  before.sink.lines_dropped = 2;
  MetricsSnapshot now;
  now.uptime_ms = 61000;
  now.sink.lines_dropped = 5;
  now.sink.write_failures = 1;
  const Json j = parse(metrics_line(now, before, 1));
  EXPECT_EQ(j["vmm"]["uptime_ms"], 61000u);
  EXPECT_EQ(j["logger"]["missed_metrics_count"], 3u);
  EXPECT_EQ(j["logger"]["metrics_fails"], 1u);
}

}  // namespace
}  // namespace ember
