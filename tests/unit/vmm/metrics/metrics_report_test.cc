// The metrics line: Firecracker v1.16.1's schema exactly (every group and field of the checked-in
// list tests/kvm/fc_metrics_schema.h, zeros included, nothing else, in Firecracker's order) and
// its arithmetic (counters as deltas since the previous line, gauges as they are, per-device
// groups and their sums, as fcmetrics.py's FcDeviceMetrics checks them).
#include "vmm/metrics/metrics_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/kvm/fc_metrics_schema.h"
#include "vmm/metrics/api_request_metrics.h"

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

std::string problems_of(const Json& j) {
  std::string out;
  for (const auto& p : fc_schema::problems(nlohmann::json::parse(j.dump()))) out += p + "\n";
  return out;
}

// A snapshot in which every counter of every group is `n` (gauges too).
MetricsSnapshot everything_at(uint64_t n) {
  MetricsSnapshot s;
  s.vm = VmCounters{};
  auto fill = [n](auto* counters) {
    auto* words = reinterpret_cast<uint64_t*>(counters);
    for (size_t i = 0; i < sizeof(*counters) / sizeof(uint64_t); ++i) words[i] = n;
  };
  fill(&s.vm->blocks["rootfs"]);
  fill(&s.vm->nets["eth0"]);
  s.vm->vsock = VirtioVsockCounters{};
  fill(&*s.vm->vsock);
  fill(&s.vm->uart);
  fill(&s.vm->i8042);
  fill(&s.vm->vcpu);
  s.vm->interrupt_triggers = n;
  s.api_server = ApiServerStats{};
  return s;
}

TEST(MetricsLine, HasFirecrackersSchemaBeforeAnythingHappened) {
  const Json j = parse(metrics_line(MetricsSnapshot{}, MetricsSnapshot{}, 1700000000123));
  EXPECT_EQ(problems_of(j), "");
  std::vector<std::string> want{"utc_timestamp_ms"};
  for (const auto& g : fc_schema::groups()) want.emplace_back(g.name);
  EXPECT_EQ(keys(j), want) << "Firecracker's groups, in its order, and no per-device group";
  EXPECT_EQ(j["utc_timestamp_ms"], 1700000000123u);
  // Every field of every group is 0.
  for (const auto& g : fc_schema::groups()) {
    for (std::string_view f : g.fields) {
      const Json& v = j[std::string(g.name)][fc_schema::name_of(f)];
      if (v.is_object()) {
        for (const auto& [k, x] : v.items()) EXPECT_EQ(x, 0u) << g.name << "." << f << "." << k;
      } else {
        EXPECT_EQ(v, 0u) << g.name << "." << f;
      }
    }
  }
}

TEST(MetricsLine, EveryFieldIsACounterOrAGaugeAsFirecrackerSays) {
  // Everything at 10 before and 25 now: counters report 15, gauges 25, except the fields ember
  // cannot measure, which stay 0. The schema's notation says which is which.
  const MetricsSnapshot before = everything_at(10);
  const MetricsSnapshot now = everything_at(25);
  const Json j = parse(metrics_line(now, before, 1));
  EXPECT_EQ(problems_of(j), "");
  for (const char* group : {"block_rootfs", "net_eth0", "vsock", "uart", "i8042", "vcpu"}) {
    for (std::string_view f : *fc_schema::fields_of(group)) {
      const std::string name = fc_schema::name_of(f);
      const Json& v = j[group][name];
      switch (fc_schema::kind_of(f)) {
        case fc_schema::Kind::kCounter:
          EXPECT_TRUE(v == 0u || v == 15u || (std::string(group) == "vsock" && name.starts_with("conns_")))
              << group << "." << name << " is a counter: " << v;
          break;
        case fc_schema::Kind::kGauge: EXPECT_TRUE(v == 0u || v == 25u) << group << "." << name << ": " << v; break;
        case fc_schema::Kind::kLatency:
          EXPECT_TRUE(v["min_us"] == 0u || v["min_us"] == 25u) << group << "." << name;
          EXPECT_TRUE(v["max_us"] == 0u || v["max_us"] == 25u) << group << "." << name;
          EXPECT_TRUE(v["sum_us"] == 0u || v["sum_us"] == 15u) << group << "." << name;
          break;
      }
    }
  }
  // What ember measures is reported, not 0.
  EXPECT_EQ(j["vcpu"]["exit_io_in"], 15u);
  EXPECT_EQ(j["vcpu"]["failures"], 15u);
  EXPECT_EQ(j["vcpu"]["kvmclock_ctrl_fails"], 15u);
  EXPECT_EQ(j["vcpu"]["exit_mmio_write_agg"], (Json{{"min_us", 25}, {"max_us", 25}, {"sum_us", 15}}));
  EXPECT_EQ(j["block_rootfs"]["read_count"], 15u);
  EXPECT_EQ(j["block_rootfs"]["queue_event_count"], 15u);
  EXPECT_EQ(j["net_eth0"]["tx_malformed_frames"], 15u);
  EXPECT_EQ(j["vsock"]["conns_added"], 30u) << "host and guest connections";
  EXPECT_EQ(j["uart"]["write_count"], 15u);
  EXPECT_EQ(j["i8042"]["reset_count"], 15u);
  EXPECT_EQ(j["interrupts"]["triggers"], 15u);
}

TEST(MetricsLine, ApiRequestsAreCountedPerResourceAndMethodAsFirecrackerDoes) {
  ApiServerStats api;
  const PutDrive drive{};
  const GetInstanceInfo info{};
  auto count = [&api](std::string_view method, std::string_view target, const VmmAction* action, int status,
                       bool deprecated = false) {
    count_api_request_received(&api, method, target, action, deprecated);
    count_api_request_answered(&api, {"x", action, status, 7});
  };
  VmmAction put_drive = drive;
  VmmAction get_info = info;
  count("PUT", "/drives/rootfs", &put_drive, 204);
  count("PUT", "http://localhost/drives/scratch?x=1", &put_drive, 400);  // refused by the VMM: not a fail
  count("PUT", "/drives/scratch", nullptr, 400);                          // refused by the parser: a fail
  count("GET", "/", &get_info, 200);
  count("PUT", "/mmds", nullptr, 400);  // not served by ember, still counted where Firecracker does
  count("PATCH", "/machine-config", nullptr, 400);
  VmmAction vsock = PutVsock{};
  std::get<PutVsock>(vsock).config.vsock_id = "old";
  count("PUT", "/vsock", &vsock, 204, /*deprecated=*/true);

  MetricsSnapshot now;
  now.api_server = api;
  const Json j = parse(metrics_line(now, MetricsSnapshot{}, 1));
  EXPECT_EQ(problems_of(j), "");
  EXPECT_EQ(j["put_api_requests"]["drive_count"], 3u);
  EXPECT_EQ(j["put_api_requests"]["drive_fails"], 1u);
  EXPECT_EQ(j["put_api_requests"]["mmds_count"], 1u);
  EXPECT_EQ(j["put_api_requests"]["mmds_fails"], 1u);
  EXPECT_EQ(j["put_api_requests"]["vsock_count"], 1u);
  EXPECT_EQ(j["get_api_requests"]["instance_info_count"], 1u);
  EXPECT_EQ(j["patch_api_requests"]["machine_cfg_count"], 1u);
  EXPECT_EQ(j["patch_api_requests"]["machine_cfg_fails"], 1u);
  EXPECT_EQ(j["deprecated_api"]["deprecated_http_api_calls"], 1u) << "vsock_id is deprecated";

  // The next line counts only what came since.
  MetricsSnapshot later = now;
  count("PUT", "/drives/rootfs", &put_drive, 204);
  later.api_server = api;
  const Json k = parse(metrics_line(later, now, 2));
  EXPECT_EQ(k["put_api_requests"]["drive_count"], 1u);
  EXPECT_EQ(k["put_api_requests"]["drive_fails"], 0u);
  EXPECT_EQ(k["get_api_requests"]["instance_info_count"], 0u);
  EXPECT_EQ(k["deprecated_api"]["deprecated_http_api_calls"], 0u);
}

TEST(MetricsLine, LatenciesAreGaugesOfTheLastSuccessfulAction) {
  ApiServerStats api;
  VmmAction pause = PatchVm{RequestedVmState::kPaused};
  VmmAction resume = PatchVm{RequestedVmState::kResumed};
  VmmAction diff = CreateSnapshot{};
  std::get<CreateSnapshot>(diff).params.snapshot_type = SnapshotType::kDiff;
  count_api_request_answered(&api, {"PATCH /vm", &pause, 204, 300});
  count_api_request_answered(&api, {"PATCH /vm", &pause, 204, 120});
  count_api_request_answered(&api, {"PATCH /vm", &resume, 400, 999});  // failed: not stored
  count_api_request_answered(&api, {"PUT /snapshot/create", &diff, 204, 5000});
  MetricsSnapshot now;
  now.api_server = api;
  now.vmm_latency_us["vmm_pause_vm"] = 80;
  const Json j = parse(metrics_line(now, now, 1));
  EXPECT_EQ(j["latencies_us"]["pause_vm"], 120u);
  EXPECT_EQ(j["latencies_us"]["resume_vm"], 0u);
  EXPECT_EQ(j["latencies_us"]["diff_create_snapshot"], 5000u);
  EXPECT_EQ(j["latencies_us"]["full_create_snapshot"], 0u);
  EXPECT_EQ(j["latencies_us"]["vmm_pause_vm"], 80u) << "a gauge: the same in the next line";
}

TEST(MetricsLine, DevicesGetTheirOwnGroupsAndTheSumOfThem) {
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
  now.vm->nets["eth1"].rx_packets = 1;
  now.vm->nets["eth0"].tx_rate_limited = 4;
  now.vm->vsock = VirtioVsockCounters{};
  now.vm->vsock->host_connections = 3;
  now.vm->vsock->active_connections = 1;
  now.vm->vsock->tx_bytes = 100;
  now.vm->vcpu.io_out = 50;
  now.vm->vcpu.mmio_write = 7;

  const Json j = parse(metrics_line(now, before, 1));
  EXPECT_EQ(problems_of(j), "");
  const auto k = keys(j);
  const auto at = [&k](const char* key) { return std::find(k.begin(), k.end(), key) - k.begin(); };
  EXPECT_LT(at("block_rootfs"), at("block")) << "per-device groups, then their sum, as Firecracker writes them";
  EXPECT_LT(at("block_scratch"), at("block"));
  EXPECT_LT(at("net_eth1"), at("net"));
  EXPECT_EQ(j["block_rootfs"]["read_count"], 5u);
  EXPECT_EQ(j["block_rootfs"]["read_bytes"], 2048u);
  EXPECT_EQ(j["block_scratch"]["write_count"], 2u);
  EXPECT_EQ(j["block_scratch"]["event_fails"], 1u);
  EXPECT_EQ(j["net_eth0"]["rx_packets_count"], 9u);
  EXPECT_EQ(j["net"]["rx_packets_count"], 10u);
  EXPECT_EQ(j["net"]["tx_rate_limiter_throttled"], 4u);
  EXPECT_EQ(j["vsock"]["conns_added"], 3u);
  EXPECT_EQ(j["vsock"]["conns_removed"], 2u);
  EXPECT_EQ(j["vsock"]["tx_bytes_count"], 100u);
  EXPECT_EQ(j["vcpu"]["exit_io_out"], 50u);
  EXPECT_EQ(j["vcpu"]["exit_mmio_write"], 7u);

  // fcmetrics.py's FcDeviceMetrics: each key of the sum is the sum of the devices' (latency
  // aggregates: their sum_us).
  for (const char* dev : {"block", "net"}) {
    Json sum = Json::object();
    for (const auto& [group, body] : j.items()) {
      if (!group.starts_with(std::string(dev) + "_")) continue;
      for (const auto& [field, v] : body.items()) {
        if (v.is_object()) {
          if (!sum.contains(field)) sum[field] = Json{{"min_us", 0}, {"max_us", 0}, {"sum_us", 0}};
          sum[field]["sum_us"] = sum[field]["sum_us"].get<uint64_t>() + v["sum_us"].get<uint64_t>();
        } else {
          sum[field] = (sum.contains(field) ? sum[field].get<uint64_t>() : 0) + v.get<uint64_t>();
        }
      }
    }
    EXPECT_EQ(nlohmann::json::parse(j[dev].dump()), nlohmann::json::parse(sum.dump())) << dev;
  }

  // The next line: counters back to zero.
  const Json again = parse(metrics_line(now, now, 2));
  EXPECT_EQ(again["block_rootfs"]["read_count"], 0u);
  EXPECT_EQ(again["vcpu"]["exit_io_out"], 0u);
  EXPECT_EQ(again["vsock"]["tx_bytes_count"], 0u);
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
  now.process_startup_time_us = 4321;
  now.process_startup_time_cpu_us = 1234;
  now.sink.lines_dropped = 5;
  now.sink.write_failures = 1;
  now.sighup = 1;
  const Json j = parse(metrics_line(now, before, 1));
  EXPECT_EQ(j["api_server"]["process_startup_time_us"], 4321u);
  EXPECT_EQ(j["api_server"]["process_startup_time_cpu_us"], 1234u);
  EXPECT_EQ(j["logger"]["missed_metrics_count"], 3u);
  EXPECT_EQ(j["logger"]["metrics_fails"], 1u);
  EXPECT_EQ(j["signals"]["sighup"], 1u);
  EXPECT_EQ(parse(metrics_line(now, now, 2))["signals"]["sighup"], 1u) << "a gauge, as Firecracker's";
}

TEST(MetricsLine, TheSchemaCheckRefusesMissingAndUnknownKeys) {
  // The check the tests rely on can fail: fcmetrics.py's validate_missing_metrics.
  nlohmann::json j = nlohmann::json::parse(metrics_line(MetricsSnapshot{}, MetricsSnapshot{}, 1));
  ASSERT_TRUE(fc_schema::problems(j).empty());
  nlohmann::json missing = j;
  missing["api_server"].erase("process_startup_time_us");
  EXPECT_FALSE(fc_schema::problems(missing).empty());
  nlohmann::json extra = j;
  extra["vmm"]["uptime_ms"] = 1;
  EXPECT_FALSE(fc_schema::problems(extra).empty());
  nlohmann::json unknown = j;
  unknown["rtc"] = nlohmann::json::object();
  EXPECT_FALSE(fc_schema::problems(unknown).empty());
  nlohmann::json bad_agg = j;
  bad_agg["vcpu"]["exit_io_in_agg"] = 0;
  EXPECT_FALSE(fc_schema::problems(bad_agg).empty());
}

}  // namespace
}  // namespace ember
