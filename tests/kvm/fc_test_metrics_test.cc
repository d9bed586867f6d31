// Firecracker's tests/integration_tests/functional/test_metrics.py, ported: the metrics line a
// FlushMetrics writes has Firecracker v1.16.1's schema (tests/kvm/fc_metrics_schema.h, what
// fcmetrics.py's validate_fc_metrics checks: every group and field, nothing else, and a UTC
// timestamp), and the `net` / `block` groups are the sum of the `net_<id>` / `block_<id>`
// groups, one per device (fcmetrics.py's FcDeviceMetrics). The freestanding `ticker` guest
// stands in for Firecracker's Linux guest: it drives no device, so the per-device groups are
// checked for their shape and sums, not for traffic (FC's test_net_metrics also runs `sync`
// over SSH in the guest; there is no guest network stack here).
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/ember_process.h"
#include "tests/kvm/fc_metrics_schema.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class FcTestMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    require_kvm();
    sock_ = dir_.path() + "/api.sock";
    metrics_ = dir_.path() + "/metrics.json";
    ember_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{EMBER_BINARY, "--api-sock", sock_, "--id", "fc-test-metrics", "--metrics-path", metrics_});
    ASSERT_TRUE(ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true)) << ember_->err();
  }

  int call(const std::string& method, const std::string& path, const std::string& body = "") {
    const ApiResponse r = api_answer(sock_, method, path, body);
    EXPECT_LT(r.status, 300) << method << " " << path << ": " << r.body;
    return r.status;
  }

  // microvm.basic_config(): one vCPU, the test guest.
  void basic_config() {
    call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})");
    call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})");
  }
  void start() {
    call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
    ASSERT_TRUE(ember_->wait_for_output("tick 1\n", 30s)) << ember_->out() << ember_->err();
  }
  void add_drive(const std::string& id, size_t mib) {
    const std::string path = dir_.path() + "/" + id + ".img";
    {
      std::ofstream f(path, std::ios::binary);
      f.seekp(static_cast<std::streamoff>(mib * 1024 * 1024 - 1));
      f.put('\0');
    }
    call("PUT", "/drives/" + id,
         R"({"drive_id": ")" + id + R"(", "path_on_host": ")" + path + R"(", "is_root_device": false, "is_read_only": false})");
  }

  // microvm.flush_metrics(): FlushMetrics, then the line it wrote (the last one).
  Json flush_metrics() {
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "FlushMetrics"})"), 204);
    std::ifstream in(metrics_);
    std::string line;
    std::string last;
    while (std::getline(in, line)) last = line;
    Json j = Json::parse(last, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not a JSON line: " << last;
    return j;
  }

  // fcmetrics.py's validate_fc_metrics.
  static void validate_fc_metrics(const Json& metrics) {
    std::string problems;
    for (const auto& p : fc_schema::problems(metrics)) problems += "  " + p + "\n";
    EXPECT_EQ(problems, "") << metrics.dump();
    // The timestamp is the wall clock in ms since the Unix epoch (Firecracker issue #2639):
    // within a second of now.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    ASSERT_TRUE(metrics.contains("utc_timestamp_ms"));
    EXPECT_LT(std::abs(now_ms - metrics["utc_timestamp_ms"].get<int64_t>()), 1000);
  }

  // fcmetrics.py's FcDeviceMetrics(name, num_dev).validate(microvm).
  void validate_device_metrics(const std::string& name, size_t num_dev) {
    const Json metrics = flush_metrics();
    validate_fc_metrics(metrics);
    Json sum = Json::object();
    size_t devices = 0;
    for (const auto& [group, body] : metrics.items()) {
      if (!group.starts_with(name + "_")) continue;
      ++devices;
      for (const auto& [field, value] : body.items()) {
        if (value.is_object()) {  // a latency aggregate: its sum_us adds up
          if (!sum.contains(field)) sum[field] = Json{{"min_us", 0}, {"max_us", 0}, {"sum_us", 0}};
          sum[field]["sum_us"] = sum[field]["sum_us"].get<uint64_t>() + value["sum_us"].get<uint64_t>();
        } else {
          sum[field] = (sum.contains(field) ? sum[field].get<uint64_t>() : 0) + value.get<uint64_t>();
        }
      }
    }
    EXPECT_EQ(devices, num_dev) << metrics.dump();
    EXPECT_EQ(metrics[name], sum) << name << " is not the sum of the " << name << "_* groups";
  }

  TempDir dir_;
  std::string sock_;
  std::string metrics_;
  std::unique_ptr<BackgroundProcess> ember_;
};

// test_flush_metrics
TEST_F(FcTestMetrics, test_flush_metrics) {
  basic_config();
  start();
  const Json metrics = flush_metrics();
  validate_fc_metrics(metrics);
  // What this line must have counted: the requests before it, and the guest's serial output.
  EXPECT_EQ(metrics["put_api_requests"]["machine_cfg_count"], 1) << metrics.dump();
  EXPECT_EQ(metrics["put_api_requests"]["boot_source_count"], 1);
  EXPECT_EQ(metrics["put_api_requests"]["actions_count"], 2);
  EXPECT_GT(metrics["vcpu"]["exit_io_out"].get<uint64_t>(), 0u);
  EXPECT_GT(metrics["uart"]["write_count"].get<uint64_t>(), 0u);
  EXPECT_GT(metrics["api_server"]["process_startup_time_us"].get<uint64_t>(), 0u);
}

// test_net_metrics: ten interfaces (ember, as root, opens each tap by name, creating it).
TEST_F(FcTestMetrics, test_net_metrics) {
  basic_config();
  constexpr size_t kNetDevices = 10;
  for (size_t i = 0; i < kNetDevices; ++i) {
    const std::string id = "eth" + std::to_string(i);
    // Tap names are at most 15 characters and must not collide with a parallel run.
    const std::string tap = "fcm" + std::to_string(::getpid() % 100000) + "t" + std::to_string(i);
    char mac[18];
    std::snprintf(mac, sizeof mac, "06:00:ac:10:00:%02zx", i + 2);
    call("PUT", "/network-interfaces/" + id,
         R"({"iface_id": ")" + id + R"(", "host_dev_name": ")" + tap + R"(", "guest_mac": ")" + mac + R"("})");
  }
  start();
  validate_device_metrics("net", kNetDevices);
  // And again, after the guest ran for a while (FC checks after each interface's traffic).
  ASSERT_TRUE(ember_->wait_for_output("tick 2\n", 30s));
  validate_device_metrics("net", kNetDevices);
}

// test_block_metrics: three drives, added before and after basic_config.
TEST_F(FcTestMetrics, test_block_metrics) {
  add_drive("scratch1", 1);
  basic_config();
  add_drive("rootfs", 2);
  add_drive("scratch2", 4);
  start();
  validate_device_metrics("block", 3);
}

// A PATCH of a drive counts in patch_api_requests and in the drive's update counters; a
// pause and a resume are timed in latencies_us (test_api.py's metrics checks are about these
// keys being there; here their values are checked too).
TEST_F(FcTestMetrics, ApiRequestsAndLatenciesAreReported) {
  add_drive("scratch1", 1);
  basic_config();
  start();
  const std::string other = dir_.path() + "/other.img";
  { std::ofstream(other, std::ios::binary).put('\0'); }
  call("PATCH", "/drives/scratch1", R"({"drive_id": "scratch1", "path_on_host": ")" + other + R"("})");
  call("PATCH", "/vm", R"({"state": "Paused"})");
  call("PATCH", "/vm", R"({"state": "Resumed"})");
  call("GET", "/");
  call("GET", "/version");
  const Json m = flush_metrics();
  validate_fc_metrics(m);
  EXPECT_EQ(m["patch_api_requests"]["drive_count"], 1) << m.dump();
  EXPECT_EQ(m["patch_api_requests"]["drive_fails"], 0);
  EXPECT_EQ(m["block_scratch1"]["update_count"], 1);
  EXPECT_EQ(m["block_scratch1"]["update_fails"], 0);
  EXPECT_EQ(m["get_api_requests"]["instance_info_count"], 1);
  EXPECT_EQ(m["get_api_requests"]["vmm_version_count"], 1);
  EXPECT_GT(m["latencies_us"]["pause_vm"].get<uint64_t>(), 0u);
  EXPECT_GT(m["latencies_us"]["resume_vm"].get<uint64_t>(), 0u);
  EXPECT_GT(m["latencies_us"]["vmm_pause_vm"].get<uint64_t>(), 0u);
  EXPECT_LE(m["latencies_us"]["vmm_pause_vm"].get<uint64_t>(), m["latencies_us"]["pause_vm"].get<uint64_t>())
      << "the VMM's part of the request";
  EXPECT_EQ(m["latencies_us"]["full_create_snapshot"], 0);

  // A body the parser refuses counts as a fail.
  auto bad = api_request(sock_, "PUT", "/drives/x", "{not json", 10s);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  const Json n = flush_metrics();
  EXPECT_EQ(n["put_api_requests"]["drive_count"], 1) << n.dump();
  EXPECT_EQ(n["put_api_requests"]["drive_fails"], 1);
  EXPECT_EQ(n["patch_api_requests"]["drive_count"], 0) << "a delta since the last line";
  EXPECT_EQ(n["latencies_us"]["pause_vm"], m["latencies_us"]["pause_vm"]) << "a gauge";
}

}  // namespace
}  // namespace ember::test
