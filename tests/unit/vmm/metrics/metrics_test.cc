// The metrics module as the VMM uses it: configured once, lines made from its sources with
// deltas between flushes, a dropped line's period carried into the next, the periodic flush.
#include "vmm/metrics/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace ember {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ember-metrics-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    loop_.emplace(std::move(loop).value());
  }
  void TearDown() override {
    metrics_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A Metrics whose sources are this fixture's api_/vm_ (nullopt until set).
  Metrics& make(std::chrono::milliseconds period = Metrics::kFlushPeriod) {
    Metrics::Sources sources;
    sources.api_server = [this] { return api_; };
    sources.vm = [this] { return vm_; };
    metrics_ = std::make_unique<Metrics>(*loop_, std::move(sources), std::chrono::steady_clock::now(), period);
    return *metrics_;
  }

  std::vector<Json> lines(const std::string& path) const {
    std::ifstream in(path);
    std::vector<Json> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(Json::parse(line, nullptr, false));
      EXPECT_TRUE(out.back().is_object()) << line;
    }
    return out;
  }

  std::string dir_;
  std::optional<EventLoop> loop_;
  std::optional<ApiServerStats> api_;
  std::optional<VmCounters> vm_;
  std::unique_ptr<Metrics> metrics_;
};

TEST_F(MetricsTest, FlushWithoutConfigurationWritesNothingAndSucceeds) {
  Metrics& m = make();
  EXPECT_FALSE(m.config());
  EXPECT_TRUE(m.flush().ok());
}

TEST_F(MetricsTest, ConfiguredOnceOnly) {
  Metrics& m = make();
  const std::string first = dir_ + "/first.json";
  ASSERT_TRUE(m.configure({first}).ok());
  auto again = m.configure({dir_ + "/second.json"});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already configured"), std::string::npos) << again.error().message;
  EXPECT_NE(again.error().message.find(first), std::string::npos) << again.error().message;
  ASSERT_TRUE(m.config());
  EXPECT_EQ(m.config()->metrics_path, first);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/second.json"));
  ASSERT_TRUE(m.flush().ok());
  EXPECT_EQ(lines(first).size(), 1u);
}

TEST_F(MetricsTest, AnUnopenablePathChangesNothing) {
  Metrics& m = make();
  auto bad = m.configure({dir_ + "/missing/dir/m.json"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("No such file or directory"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(m.config());
  EXPECT_TRUE(m.flush().ok());
  // Still configurable.
  EXPECT_TRUE(m.configure({dir_ + "/m.json"}).ok());
}

TEST_F(MetricsTest, EachLineReportsWhatHappenedSinceTheLastOne) {
  Metrics& m = make();
  const std::string path = dir_ + "/m.json";
  ASSERT_TRUE(m.configure({path}).ok());
  m.set_startup_time(1500us, 700us);
  api_ = ApiServerStats{};
  api_->resources["GET /"] = {2, 0};
  ASSERT_TRUE(m.flush().ok());  // before InstanceStart: no VM counters yet

  api_->resources["GET /"] = {5, 0};
  api_->resources["PUT /actions"] = {1, 1};
  m.record_vmm_latency("vmm_pause_vm", 42us);
  vm_ = VmCounters{};
  vm_->vcpu.io_out = 120;
  vm_->vcpu.mmio_read = 3;
  vm_->blocks["rootfs"].read_requests = 4;
  ASSERT_TRUE(m.flush().ok());

  vm_->vcpu.io_out = 150;
  ASSERT_TRUE(m.flush().ok());

  const auto got = lines(path);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["get_api_requests"]["instance_info_count"], 2);
  EXPECT_EQ(got[0]["api_server"]["process_startup_time_us"], 1500);
  EXPECT_EQ(got[0]["api_server"]["process_startup_time_cpu_us"], 700);
  EXPECT_EQ(got[0]["vcpu"]["exit_io_out"], 0);
  EXPECT_FALSE(got[0].contains("block_rootfs"));
  EXPECT_EQ(got[1]["get_api_requests"]["instance_info_count"], 3);
  EXPECT_EQ(got[1]["put_api_requests"]["actions_count"], 1);
  EXPECT_EQ(got[1]["put_api_requests"]["actions_fails"], 1);
  EXPECT_EQ(got[1]["latencies_us"]["vmm_pause_vm"], 42);
  EXPECT_EQ(got[1]["vcpu"]["exit_io_out"], 120);
  EXPECT_EQ(got[1]["vcpu"]["exit_mmio_read"], 3);
  EXPECT_EQ(got[1]["block_rootfs"]["read_count"], 4);
  EXPECT_EQ(got[2]["vcpu"]["exit_io_out"], 30);
  EXPECT_EQ(got[2]["get_api_requests"]["instance_info_count"], 0);
  EXPECT_EQ(got[2]["latencies_us"]["vmm_pause_vm"], 42) << "a gauge";
  for (const auto& j : got) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_NEAR(j["utc_timestamp_ms"].get<double>(), static_cast<double>(now_ms), 60'000.0);
  }
  EXPECT_EQ(m.sink_counters().lines_written, 3u);
}

TEST_F(MetricsTest, ADroppedLinesPeriodGoesIntoTheNextLine) {
  const std::string fifo = dir_ + "/m.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_TRUE(reader.valid());
  Metrics& m = make();
  ASSERT_TRUE(m.configure({fifo}).ok());
  // A small pipe: a few lines (about 4.5 KiB each, Firecracker's schema) fill it.
  ASSERT_GT(::fcntl(reader.get(), F_SETPIPE_SZ, 16384), 0);

  vm_ = VmCounters{};
  int dropped = 0;
  for (int i = 0; i < 20; ++i) {
    vm_->vcpu.io_in += 10;
    auto r = m.flush();
    if (!r.ok()) {
      ++dropped;
      EXPECT_NE(r.error().message.find("full"), std::string::npos) << r.error().message;
    }
  }
  ASSERT_GT(dropped, 0);
  EXPECT_EQ(m.sink_counters().lines_dropped, static_cast<uint64_t>(dropped));

  // Read what got through, then one more line: all 200 exits are accounted for, once each.
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(reader.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ASSERT_TRUE(m.flush().ok());
  for (ssize_t n; (n = ::read(reader.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  std::istringstream in(text);
  uint64_t exits = 0;
  uint64_t missed = 0;
  for (std::string line; std::getline(in, line);) {
    const Json j = Json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    exits += j["vcpu"]["exit_io_in"].get<uint64_t>();
    missed += j["logger"]["missed_metrics_count"].get<uint64_t>();
  }
  EXPECT_EQ(exits, 200u);
  EXPECT_EQ(missed, static_cast<uint64_t>(dropped));
}

TEST_F(MetricsTest, FlushesPeriodicallyFromTheEventLoop) {
  Metrics& m = make(20ms);
  const std::string path = dir_ + "/m.json";
  ASSERT_TRUE(m.configure({path}).ok());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (lines(path).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loop_->run_once(100).ok());
  }
  EXPECT_GE(lines(path).size(), 2u);
}

TEST_F(MetricsTest, TheTimerLeavesTheLoopWithTheMetrics) {
  Metrics& m = make(10ms);
  ASSERT_TRUE(m.configure({dir_ + "/m.json"}).ok());
  metrics_.reset();
  std::this_thread::sleep_for(30ms);
  // A handler left behind would run on a destroyed object here (ASan would say so).
  EXPECT_TRUE(loop_->run_once(0).ok());
}

}  // namespace
}  // namespace ember
