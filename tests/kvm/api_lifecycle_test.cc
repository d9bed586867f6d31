// ember driven through its API socket, as Firecracker users drive Firecracker: configure,
// InstanceStart, pause and resume, refusals in the wrong state, and a clean stop.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;

class ApiLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    require_kvm();
    sock_ = dir_.path() + "/api.sock";
    ember_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{EMBER_BINARY, "--api-sock", sock_, "--id", "api-test"});
    ASSERT_TRUE(ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true)) << ember_->err();
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }

  TempDir dir_;
  std::string sock_;
  std::unique_ptr<BackgroundProcess> ember_;
};

TEST_F(ApiLifecycle, ConfigureStartPauseResumeAndStop) {
  EXPECT_NE(call("GET", "/").body.find("\"Not started\""), std::string::npos);
  EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64})").status, 204);
  EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
  auto cfg = call("GET", "/vm/config");
  EXPECT_EQ(cfg.status, 200);
  EXPECT_NE(cfg.body.find("\"vcpu_count\":2"), std::string::npos) << cfg.body;
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(ember_->wait_for_output("tick 3\n", 30s)) << ember_->out() << ember_->err();
  EXPECT_NE(call("GET", "/").body.find("\"Running\""), std::string::npos);

  // After InstanceStart, configuration is refused and nothing changes.
  auto late = call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})");
  EXPECT_EQ(late.status, 400);
  EXPECT_NE(late.body.find("fault_message"), std::string::npos);
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 400);
  EXPECT_NE(call("GET", "/machine-config").body.find("\"vcpu_count\":2"), std::string::npos);

  EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  EXPECT_NE(call("GET", "/").body.find("\"Paused\""), std::string::npos);
  const std::string frozen = ember_->out();
  std::this_thread::sleep_for(300ms);  // ~15 ticks' worth: none may appear while paused
  EXPECT_EQ(ember_->out(), frozen) << "the guest kept running while paused";

  EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  const auto ticks_at_resume = frozen.size();
  EXPECT_TRUE(ember_->wait_for_output("tick", 1s));
  for (int i = 0; i < 200 && ember_->out().size() == ticks_at_resume; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(ember_->out().size(), ticks_at_resume) << "the guest did not resume";

  ember_->send_signal(SIGTERM);
  auto r = ember_->wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
}

TEST_F(ApiLifecycle, RefusalsLeaveTheStateUnchanged) {
  auto start = call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  EXPECT_EQ(start.status, 400);
  EXPECT_NE(start.body.find("boot-source"), std::string::npos) << start.body;
  EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Paused"})").status, 400);
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "SendCtrlAltDel"})").status, 400);
  auto bad = call("PUT", "/machine-config", R"({"vcpu_count": 0, "mem_size_mib": 64})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("vcpu_count"), std::string::npos) << bad.body;
  auto missing = call("PUT", "/boot-source", R"({"kernel_image_path": "/nonexistent/kernel"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("kernel_image_path"), std::string::npos) << missing.body;
  EXPECT_EQ(call("PUT", "/balloon", R"({"amount_mib": 1, "deflate_on_oom": false})").status, 400);
  EXPECT_NE(call("GET", "/machine-config").body.find("\"vcpu_count\":1"), std::string::npos);
  EXPECT_NE(call("GET", "/").body.find("\"Not started\""), std::string::npos);

  // A kernel that fails to load makes InstanceStart fail; the VMM stays configurable.
  std::string junk = dir_.write("junk", std::string(4096, 'j'));
  EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + junk + R"("})").status, 204);
  auto failed = call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  EXPECT_EQ(failed.status, 400);
  EXPECT_NE(failed.body.find("neither an ELF"), std::string::npos) << failed.body;
  EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("hello") + R"("})").status, 204);
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  auto r = ember_->wait(30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos);
}

TEST_F(ApiLifecycle, VsockAndDriveDevicesAreCreatedAndCleanedUp) {
  const std::string uds = dir_.path() + "/v.sock";
  const std::string disk = dir_.write("disk.img", std::string(1 << 20, '\0'));
  EXPECT_EQ(call("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": ")" + uds + R"("})").status, 204);
  EXPECT_EQ(call("PUT", "/drives/data", R"({"drive_id": "data", "path_on_host": ")" + disk +
                                            R"(", "is_root_device": false, "is_read_only": true})").status, 204);
  auto missing = call("PUT", "/drives/gone", R"({"drive_id": "gone", "path_on_host": "/nonexistent.img", "is_root_device": false})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("/nonexistent.img"), std::string::npos) << missing.body;
  auto bad_cid = call("PUT", "/vsock", R"({"guest_cid": 2, "uds_path": "/tmp/x.sock"})");
  EXPECT_EQ(bad_cid.status, 400);
  EXPECT_NE(call("GET", "/vm/config").body.find(uds), std::string::npos);
  EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
  EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(ember_->wait_for_output("tick 1\n", 30s)) << ember_->err();
  EXPECT_TRUE(std::filesystem::exists(uds)) << "the vsock device listens on its uds_path";
  EXPECT_NE(ember_->err().find("drive data: virtio-mmio at 0xd0001000"), std::string::npos) << ember_->err();
  // Runtime PATCH of a drive: a new backing file and a rate limiter; unknown drives and
  // missing files are refused with nothing changed.
  const std::string bigger = dir_.write("bigger.img", std::string(2 << 20, '\0'));
  EXPECT_EQ(call("PATCH", "/drives/data", R"({"drive_id": "data", "path_on_host": ")" + bigger + R"("})").status, 204);
  EXPECT_EQ(call("PATCH", "/drives/data", R"({"drive_id": "data", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}})").status, 204);
  EXPECT_NE(call("GET", "/vm/config").body.find(bigger), std::string::npos);
  EXPECT_EQ(call("PATCH", "/drives/nope", R"({"drive_id": "nope", "path_on_host": ")" + bigger + R"("})").status, 400);
  auto gone = call("PATCH", "/drives/data", R"({"drive_id": "data", "path_on_host": "/nonexistent.img"})");
  EXPECT_EQ(gone.status, 400);
  EXPECT_NE(call("GET", "/vm/config").body.find(bigger), std::string::npos);
  ember_->send_signal(SIGTERM);
  auto r = ember_->wait(10s);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_FALSE(std::filesystem::exists(uds)) << "the vsock socket is removed at exit";
}

TEST(ApiSocket, ExistingSocketPathIsRefused) {
  TempDir dir;
  std::string taken = dir.write("taken.sock", "");
  auto r = run_process({EMBER_BINARY, "--api-sock", taken}, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--api-sock"), std::string::npos) << r.err;
}

// A client that connects the moment the socket takes connections (as firecracker-go-sdk and
// Kata poll it) gets its answer: the API thread, confined by seccomp from its start, may be the
// first thread to log (its request line), and logging must need no syscall its filter lacks
// (glibc's first gmtime_r opened /etc/localtime, and ember died of SIGSYS).
TEST(ApiSocket, ARequestAtTheFirstMomentIsAnswered) {
  require_kvm();
  for (int i = 0; i < 10; ++i) {
    TempDir dir;
    const std::string sock = dir.path() + "/api.sock";
    BackgroundProcess ember({EMBER_BINARY, "--api-sock", sock});
    Result<ApiResponse> r = make_error("not tried");
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    do {
      r = api_request(sock, "GET", "/", "", 10s);
      if (r.ok() || r.error().message.find("cannot connect") == std::string::npos) break;
      std::this_thread::sleep_for(1ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(r.ok()) << "start " << i << ": " << r.error().message << "\n" << ember.err();
    EXPECT_EQ(r->status, 200) << r->body;
  }
}

}  // namespace
}  // namespace ember::test
