// The controller's metrics actions before InstanceStart: PUT /metrics once (a second one, or
// a path that cannot be opened, is refused with nothing changed), FlushMetrics refused, GET
// /vm/config reporting the configuration. After InstanceStart (which needs /dev/kvm) the same
// actions are covered by tests/kvm/metrics_test.cc.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "api/response.h"
#include "vmm/controller/vmm.h"

namespace ember {
namespace {

using Json = nlohmann::json;

class VmmMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ember-metrics-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto vmm = Vmm::create(VmmOptions{});
    ASSERT_TRUE(vmm.ok()) << vmm.error().message;
    vmm_ = std::move(vmm).value();
  }
  void TearDown() override {
    vmm_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ApiReply put_metrics(const std::string& path) { return to_reply(vmm_->handle(PutMetrics{MetricsConfig{path}})); }
  Json vm_config_metrics() {
    const ApiReply r = to_reply(vmm_->handle(GetVmConfig{}));
    EXPECT_EQ(r.status, 200);
    return Json::parse(r.body)["metrics"];
  }
  static std::string fault(const ApiReply& r) { return Json::parse(r.body)["fault_message"].get<std::string>(); }

  std::string dir_;
  std::unique_ptr<Vmm> vmm_;
};

TEST_F(VmmMetricsTest, PutMetricsTwiceIsRefusedTheSecondTime) {
  EXPECT_TRUE(vm_config_metrics().is_null());
  const std::string first = dir_ + "/metrics.json";
  EXPECT_EQ(put_metrics(first).status, 204);
  EXPECT_TRUE(std::filesystem::exists(first));
  // GET /vm/config prints metrics as null however they were configured, as Firecracker's does.
  EXPECT_TRUE(vm_config_metrics().is_null());

  const ApiReply again = put_metrics(dir_ + "/other.json");
  EXPECT_EQ(again.status, 400);
  EXPECT_NE(fault(again).find("already configured"), std::string::npos) << again.body;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other.json"));
}

TEST_F(VmmMetricsTest, AnUnwritablePathIsRefusedWithTheReasonAndNothingApplied) {
  const std::string bad = dir_ + "/no/such/dir/metrics.json";
  const ApiReply r = put_metrics(bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(fault(r).find(bad), std::string::npos) << r.body;
  EXPECT_NE(fault(r).find("No such file or directory"), std::string::npos) << r.body;
  EXPECT_TRUE(vm_config_metrics().is_null());
  // Not counted as the one configuration.
  EXPECT_EQ(put_metrics(dir_ + "/metrics.json").status, 204);
}

TEST_F(VmmMetricsTest, FlushMetricsBeforeInstanceStartIsRefused) {
  const ApiReply unconfigured = to_reply(vmm_->handle(FlushMetrics{}));
  EXPECT_EQ(unconfigured.status, 400);
  const std::string path = dir_ + "/metrics.json";
  ASSERT_EQ(put_metrics(path).status, 204);
  const ApiReply configured = to_reply(vmm_->handle(FlushMetrics{}));
  EXPECT_EQ(configured.status, 400);
  EXPECT_NE(fault(configured).find("not supported before starting the microVM"), std::string::npos) << configured.body;
  EXPECT_EQ(std::filesystem::file_size(path), 0u) << "nothing was flushed";
}

}  // namespace
}  // namespace ember
