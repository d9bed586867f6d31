// Boots the freestanding test guests (tests/guests/) with ember on /dev/kvm.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using std::chrono::seconds;

class TestGuests : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { require_kvm(); }
  // "" for the PVH entry, "-linux64" for the Linux 64-bit boot protocol entry.
  std::string guest(const std::string& name) const { return guest_path(name + GetParam()); }
  std::string entry_name() const { return std::string(GetParam()).empty() ? "pvh" : "linux64"; }
};

TEST_P(TestGuests, SerialHelloAndI8042ResetEndWithZero) {
  auto r = run_ember(vm_json(guest("hello")), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("entry: " + entry_name()), std::string::npos) << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("i8042"), std::string::npos) << r.err;
}

TEST_P(TestGuests, EachVcpuPrintsItsApicId) {
  for (int n : {1, 2, 4, 32}) {
    auto r = run_ember(vm_json(guest("smp"), n), seconds(120));
    ASSERT_FALSE(r.timed_out) << "vcpus=" << n << "\n" << r.out << r.err;
    for (int id = 0; id < n; ++id)
      EXPECT_NE(r.out.find("cpu " + std::to_string(id) + " online"), std::string::npos)
          << "vcpus=" << n << " missing cpu " << id << "\n" << r.out;
    EXPECT_NE(r.out.find("smp: " + std::to_string(n) + " cpus online"), std::string::npos) << r.out;
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

TEST_P(TestGuests, BootTimerWriteIsLogged) {
  auto r = run_ember(vm_json(guest("hello")), seconds(60), {"--boot-timer"});
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_NE(r.err.find("Guest-boot-time = "), std::string::npos) << r.err;
  EXPECT_EQ(r.exit_code, 0);
}

TEST_P(TestGuests, BootTimerIsAbsentWithoutTheFlag) {
  auto r = run_ember(vm_json(guest("hello")), seconds(60));
  EXPECT_EQ(r.err.find("Guest-boot-time"), std::string::npos) << r.err;
  EXPECT_EQ(r.exit_code, 0);
}

TEST_P(TestGuests, AcpiPoweroffEndsWithZero) {
  auto r = run_ember(vm_json(guest("poweroff")), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("powered off"), std::string::npos) << r.err;
}

TEST_P(TestGuests, TripleFaultEndsWithGuestFaultStatus) {
  auto r = run_ember(vm_json(guest("panic")), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_NE(r.out.find("guest panic: deliberate"), std::string::npos) << r.out;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("triple-faulted"), std::string::npos) << r.err;
}

TEST_P(TestGuests, PvPanicReportEndsWithPanicStatus) {
  auto r = run_ember(vm_json(guest("pvpanic")), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_NE(r.out.find("pvpanic: supported events 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("guest kernel panicked"), std::string::npos) << r.err;
}

TEST_P(TestGuests, SigtermStopsTheVmInOrder) {
  auto r = run_ember(vm_json(guest("boottime"), 2), seconds(60), {},
                     [](const std::string& out, const std::string&) { return out.find("READY") != std::string::npos; },
                     SIGTERM);
  ASSERT_TRUE(r.stopped_early) << r.out << r.err;
  EXPECT_FALSE(r.timed_out) << "ember did not exit after SIGTERM\n" << r.err;
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_NE(r.err.find("stopped by signal TERM"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Entry, TestGuests, ::testing::Values("", "-linux64"),
                         [](const auto& info) { return std::string(info.param).empty() ? "Pvh" : "Linux64"; });

}  // namespace
}  // namespace ember::test
