// Firecracker v1.16.1's tests/integration_tests/functional/test_pause_resume.py, ported. The
// ticker guest prints a line every few milliseconds: no line while paused shows the guest
// stopped, new lines after resume show it runs again (Firecracker's test uses ssh for this,
// and net metrics, which need a Linux guest and a tap).
//
// Not ported: test_kvmclock_ctrl: needs a Linux guest (soft lock-up warnings in its dmesg).
#include <thread>

#include "tests/kvm/fc_test_util.h"

namespace ember::test {
namespace {

class FcTestPauseResume : public FcMicrovm {
 protected:
  // True when the guest printed nothing for a while.
  bool guest_is_still() {
    const std::string before = ember_->out();
    std::this_thread::sleep_for(300ms);
    return ember_->out() == before;
  }
  bool guest_runs() {
    const size_t before = ember_->out().size();
    for (int i = 0; i < 300; ++i) {
      if (ember_->out().size() > before) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

TEST_F(FcTestPauseResume, TestPauseResume) {
  basic_config();
  refused("PATCH", "/vm", R"({"state": "Paused"})");
  refused("PATCH", "/vm", R"({"state": "Resumed"})");
  start();
  accepted("PATCH", "/vm", R"({"state": "Paused"})");
  EXPECT_TRUE(guest_is_still()) << "the guest kept running while paused";
  accepted("PATCH", "/vm", R"({"state": "Paused"})");  // pausing a paused VM is allowed
  accepted("PATCH", "/vm", R"({"state": "Resumed"})");
  EXPECT_TRUE(guest_runs()) << "the guest did not resume";
  accepted("PATCH", "/vm", R"({"state": "Resumed"})");  // so is resuming a running one
  EXPECT_TRUE(guest_runs());
}

TEST_F(FcTestPauseResume, TestDescribeInstance) {
  basic_config();
  EXPECT_NE(call("GET", "/").body.find("Not started"), std::string::npos);
  start();
  EXPECT_NE(call("GET", "/").body.find("Running"), std::string::npos);
  accepted("PATCH", "/vm", R"({"state": "Paused"})");
  EXPECT_NE(call("GET", "/").body.find("Paused"), std::string::npos);
  accepted("PATCH", "/vm", R"({"state": "Resumed"})");
  EXPECT_NE(call("GET", "/").body.find("Running"), std::string::npos);
}

TEST_F(FcTestPauseResume, TestPauseResumePreboot) {
  basic_config();
  refused("PATCH", "/vm", R"({"state": "Paused"})", "not supported before starting the microVM");
  refused("PATCH", "/vm", R"({"state": "Resumed"})", "not supported before starting the microVM");
}

}  // namespace
}  // namespace ember::test
