// Metrics on the real ember binary: configured by --metrics-path, by PUT /metrics (to a FIFO
// nobody reads yet) or by a config file; FlushMetrics refused before InstanceStart and
// answered after it with a JSON line counting the guest's vCPU exits and the API requests;
// one more line at exit; a path that cannot be opened refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

std::vector<Json> metric_lines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(Json::parse(line, nullptr, false));
    EXPECT_TRUE(out.back().is_object()) << "not a JSON object: " << line;
  }
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t u64(const Json& j, const char* group, const char* key) {
  if (!j.contains(group) || !j[group].contains(key) || !j[group][key].is_number_unsigned()) {
    ADD_FAILURE() << group << "." << key << " missing in " << j.dump();
    return 0;
  }
  return j[group][key].get<uint64_t>();
}

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override { require_kvm(); }

  void start_ember(const std::vector<std::string>& extra = {}) {
    sock_ = dir_.path() + "/api.sock";
    std::vector<std::string> argv{EMBER_BINARY, "--api-sock", sock_, "--id", "metrics-test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ember_ = std::make_unique<BackgroundProcess>(argv);
    ASSERT_TRUE(ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true)) << ember_->err();
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }

  void boot_ticker() {
    ASSERT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 204);
    ASSERT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
    ASSERT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    ASSERT_TRUE(ember_->wait_for_output("tick 2\n", 30s)) << ember_->out() << ember_->err();
  }

  TempDir dir_;
  std::string sock_;
  std::unique_ptr<BackgroundProcess> ember_;
};

TEST_F(Metrics, FlushMetricsWritesALineOfVcpuExitsAndApiRequests) {
  const std::string path = dir_.path() + "/metrics.json";
  start_ember({"--metrics-path", path});

  // --metrics-path was the one configuration; FlushMetrics waits for InstanceStart.
  const auto second = call("PUT", "/metrics", R"({"metrics_path": ")" + dir_.path() + R"(/other.json"})");
  EXPECT_EQ(second.status, 400);
  EXPECT_NE(second.body.find("already configured"), std::string::npos) << second.body;
  const auto early = call("PUT", "/actions", R"({"action_type": "FlushMetrics"})");
  EXPECT_EQ(early.status, 400);
  EXPECT_NE(early.body.find("not supported before starting the microVM"), std::string::npos) << early.body;
  // GET /vm/config prints metrics as null, as Firecracker's does (it keeps no metrics config).
  EXPECT_NE(call("GET", "/vm/config").body.find("\"metrics\":null"), std::string::npos);
  EXPECT_EQ(read_all(path), "") << "nothing is written before a flush";

  boot_ticker();
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  const std::string text = read_all(path);
  EXPECT_EQ(text.rfind("{\"utc_timestamp_ms\":", 0), 0u) << "the timestamp comes first: " << text;
  auto lines = metric_lines(text);
  ASSERT_EQ(lines.size(), 1u);
  const Json& j = lines[0];
  EXPECT_GT(u64(j, "vcpu", "exit_io_out"), 0u) << "the ticker writes its serial port: " << j.dump();
  EXPECT_EQ(u64(j, "vcpu", "failures"), 0u);
  EXPECT_GT(u64(j, "uart", "write_count"), 0u) << "the ticker's bytes";
  EXPECT_GT(u64(j, "api_server", "process_startup_time_us"), 0u);
  // PUT /metrics was refused by the VMM (already configured), not by the parser: a count, no fail.
  EXPECT_EQ(u64(j, "put_api_requests", "metrics_count"), 1u) << j.dump();
  EXPECT_EQ(u64(j, "put_api_requests", "metrics_fails"), 0u);
  EXPECT_EQ(u64(j, "put_api_requests", "machine_cfg_count"), 1u);
  EXPECT_EQ(u64(j, "put_api_requests", "boot_source_count"), 1u);
  EXPECT_EQ(u64(j, "put_api_requests", "actions_count"), 3u) << "FlushMetrics, InstanceStart, FlushMetrics";
  EXPECT_TRUE(j.contains("vsock") && j.contains("block") && j.contains("net"));

  // The next line counts only what happened since: the FlushMetrics request itself, and the
  // exits of the ticks printed in between.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  lines = metric_lines(read_all(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(u64(lines[1], "put_api_requests", "actions_count"), 1u) << lines[1].dump();
  EXPECT_EQ(u64(lines[1], "put_api_requests", "machine_cfg_count"), 0u);
  EXPECT_GT(u64(lines[1], "vcpu", "exit_io_out"), 0u);
  EXPECT_LT(u64(lines[1], "vcpu", "exit_io_out"), u64(lines[0], "vcpu", "exit_io_out") + 100000);

  // Metrics are configured before InstanceStart only.
  EXPECT_EQ(call("PUT", "/metrics", R"({"metrics_path": ")" + path + R"("})").status, 400);

  ember_->send_signal(SIGTERM);
  auto r = ember_->wait(10s);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  lines = metric_lines(read_all(path));
  EXPECT_EQ(lines.size(), 3u) << "one more line at exit";
}

TEST_F(Metrics, AFifoWithoutReaderDoesNotHoldEmberUp) {
  const std::string fifo = dir_.path() + "/metrics.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  start_ember();
  EXPECT_EQ(call("PUT", "/metrics", R"({"metrics_path": ")" + fifo + R"("})").status, 204);
  boot_ticker();
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  // A reader that comes now finds the line in the pipe.
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const auto lines = metric_lines(text);
  ASSERT_EQ(lines.size(), 1u) << text;
  EXPECT_GT(u64(lines[0], "vcpu", "exit_io_out"), 0u);
  EXPECT_EQ(u64(lines[0], "put_api_requests", "metrics_count"), 1u);
}

TEST_F(Metrics, AConfigFilesMetricsGetALineAtExit) {
  const std::string path = dir_.path() + "/metrics.json";
  const std::string config = R"({"boot-source": {"kernel_image_path": ")" + guest_path("hello") +
                             R"("}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
                                "metrics": {"metrics_path": ")" + path + R"("}})";
  auto r = run_ember(config, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto lines = metric_lines(read_all(path));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_GT(u64(lines[0], "vcpu", "exit_io_out"), 0u);
  EXPECT_EQ(u64(lines[0], "put_api_requests", "actions_count"), 0u) << "--no-api: no API requests";
  EXPECT_EQ(u64(lines[0], "api_server", "process_startup_time_us"), 0u) << "--no-api: no API socket";
}

TEST(MetricsPath, AnUnwritablePathEndsEmberWithTheFlagNamed) {
  require_kvm();
  TempDir dir;
  const std::string bad = dir.path() + "/no/such/dir/metrics.json";
  auto r = run_ember(vm_json(guest_path("hello")), 20s, {"--metrics-path", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--metrics-path"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Hello"), std::string::npos) << "the guest must not run";

  // The config file and --metrics-path together are two configurations.
  const std::string path = dir.path() + "/metrics.json";
  const std::string config = R"({"boot-source": {"kernel_image_path": ")" + guest_path("hello") +
                             R"("}, "metrics": {"metrics_path": ")" + path + R"("}})";
  auto twice = run_ember(config, 20s, {"--metrics-path", path});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("already configured"), std::string::npos) << twice.err;
}

}  // namespace
}  // namespace ember::test
