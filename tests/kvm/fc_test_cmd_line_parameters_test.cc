// Firecracker's tests/integration_tests/functional/test_cmd_line_parameters.py (v1.16.1), ported
// to ember and the freestanding test guests, plus the command-line flags those tests' neighbours
// rely on (--version, --id, --api-sock defaults, the logger and start-time flags). Each test is
// named after the Firecracker test it comes from (TestCli... for test_cli_...).
//
// test_describe_snapshot checks ember's own snapshot format version ("v1.0.0" today), not
// Firecracker's ("v10.0.0"): the two formats are distinct (docs/firecracker-compatibility.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/client_launch.h"
#include "tests/kvm/ember_process.h"
#include "tests/kvm/fc_metrics_schema.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// ember serving its API on `sock`, with `extra` flags.
class ApiEmber {
 public:
  ApiEmber(const std::string& binary, const std::string& sock, const std::vector<std::string>& extra = {})
      : sock_(sock) {
    std::vector<std::string> argv = {binary, "--api-sock", sock};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<BackgroundProcess>(argv);
  }
  bool ready() { return wait_for_api_socket(sock_, 10s); }
  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }
  void boot_ticker() {
    EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 204);
    EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    EXPECT_TRUE(process_->wait_for_output("tick 2\n", 30s)) << process_->out() << process_->err();
  }
  BackgroundProcess& process() { return *process_; }

 private:
  std::string sock_;
  std::unique_ptr<BackgroundProcess> process_;
};

// test_cli_metrics_path: metrics configured by --metrics-path; FlushMetrics writes a line of
// Firecracker's metrics, checked as validate_fc_metrics does (fc_metrics_schema.h).
TEST(FcCmdLineParameters, TestCliMetricsPath) {
  require_kvm();
  TempDir dir;
  const std::string metrics = dir.path() + "/my_metrics.ndjson";
  ApiEmber vm(EMBER_BINARY, dir.path() + "/api.sock", {"--metrics-path", metrics});
  ASSERT_TRUE(vm.ready()) << vm.process().err();
  vm.boot_ticker();
  EXPECT_EQ(vm.call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  const std::string text = read_file_text(metrics);
  ASSERT_FALSE(text.empty());
  std::istringstream lines(text);
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  const json m = json::parse(last, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(m.is_object()) << last;
  EXPECT_EQ(fc_schema::problems(m), std::vector<std::string>{}) << last;
}

// test_cli_metrics_path_if_metrics_initialized_twice_fail: --metrics-path, then PUT /metrics is
// refused with Firecracker's fault text (ember adds the configured path after it).
TEST(FcCmdLineParameters, TestCliMetricsPathIfMetricsInitializedTwiceFail) {
  require_kvm();
  TempDir dir;
  const std::string metrics = dir.write("metrics.ndjson", "");
  const std::string metrics2 = dir.write("metrics2.ndjson", "");
  ApiEmber vm(EMBER_BINARY, dir.path() + "/api.sock", {"--metrics-path", metrics});
  ASSERT_TRUE(vm.ready()) << vm.process().err();
  const auto r = vm.call("PUT", "/metrics", R"({"metrics_path": ")" + metrics2 + R"("})");
  EXPECT_EQ(r.status, 400) << r.body;
  const json fault = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(fault.is_object()) << r.body;
  EXPECT_EQ(fault.value("fault_message", "").rfind("Reinitialization of metrics not allowed.", 0), 0u) << r.body;
}

// test_cli_metrics_if_resume_no_metrics: the metrics configuration is not part of a snapshot: a
// VM restored from a snapshot of a VM started with --metrics-path writes nothing to the first
// VM's metrics file, even on FlushMetrics (which, as in Firecracker, succeeds with no metrics
// configured).
TEST(FcCmdLineParameters, TestCliMetricsIfResumeNoMetrics) {
  require_kvm();
  TempDir dir;
  const std::string metrics = dir.write("metrics.ndjson", "");
  {
    ApiEmber vm1(EMBER_BINARY, dir.path() + "/a.sock", {"--metrics-path", metrics});
    ASSERT_TRUE(vm1.ready()) << vm1.process().err();
    vm1.boot_ticker();
    EXPECT_EQ(vm1.call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
    EXPECT_EQ(vm1.call("PUT", "/snapshot/create",
                       R"({"snapshot_type": "Full", "snapshot_path": ")" + dir.path() + R"(/vm.state", "mem_file_path": ")" +
                           dir.path() + R"(/vm.mem"})")
                  .status,
              204);
    vm1.process().send_signal(SIGKILL);
    vm1.process().wait(10s);
  }
  const auto size_before = std::filesystem::file_size(metrics);
  ApiEmber vm2(EMBER_BINARY, dir.path() + "/b.sock");
  ASSERT_TRUE(vm2.ready()) << vm2.process().err();
  EXPECT_EQ(vm2.call("PUT", "/snapshot/load",
                     R"({"snapshot_path": ")" + dir.path() + R"(/vm.state", "mem_backend": {"backend_type": "File", "backend_path": ")" +
                         dir.path() + R"(/vm.mem"}, "resume_vm": true})")
                .status,
            204);
  EXPECT_TRUE(vm2.process().wait_for_output("tick", 30s)) << vm2.process().err();
  EXPECT_EQ(vm2.call("PUT", "/actions", R"({"action_type": "FlushMetrics"})").status, 204);
  EXPECT_EQ(std::filesystem::file_size(metrics), size_before) << "the restored VM wrote to the first VM's metrics file";
}

// Runs `binary` with `args` in a private mount namespace whose /run is a fresh tmpfs, so that the
// default socket path lands there and nowhere on the host.
std::vector<std::string> in_private_run(const std::string& binary, const std::string& args = "") {
  return {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
          "mount -t tmpfs tmpfs /run && exec " + binary + " " + args};
}

// test_cli_no_params: with no parameters ember starts and keeps serving (on its default socket).
TEST(FcCmdLineParameters, TestCliNoParams) {
  require_kvm();
  BackgroundProcess ember(in_private_run(EMBER_BINARY));
  // The socket appears in the process's own /run (seen through /proc/<pid>/root).
  const std::string sock = "/proc/" + std::to_string(ember.pid()) + "/root/run/ember.socket";
  EXPECT_TRUE(wait_for_api_socket(sock, 10s)) << ember.err();
  std::this_thread::sleep_for(500ms);
  auto r = ember.wait(1000ms);  // still running: the wait times out and kills it
  EXPECT_TRUE(r.timed_out) << "ember ended with no parameters: " << r.exit_code << "\n" << r.err;
}

// The same invoked as `firecracker`: Firecracker's default socket /run/firecracker.socket
// (src/firecracker/src/main.rs DEFAULT_API_SOCK_PATH) and its thread names.
TEST(FcCmdLineParameters, TestCliNoParamsAsFirecracker) {
  require_kvm();
  TempDir dir;
  const std::string fc = firecracker_link(dir.path(), EMBER_BINARY);
  BackgroundProcess ember(in_private_run(fc));
  const std::string sock = "/proc/" + std::to_string(ember.pid()) + "/root/run/firecracker.socket";
  ASSERT_TRUE(wait_for_api_socket(sock, 10s)) << ember.err();
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(ember.pid()) + "/root/run/ember.socket"));
  auto r = api_request(sock, "GET", "/", "", 10s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->body.find("\"Not started\""), std::string::npos) << r->body;
  const auto threads = thread_names(ember.pid());
  EXPECT_EQ(threads.at(ember.pid()), "firecracker") << describe_threads(threads);
  bool api_thread = false;
  for (const auto& [tid, name] : threads) api_thread |= name == "fc_api";
  EXPECT_TRUE(api_thread) << describe_threads(threads);
}

// `--version`: "<name> v<semver>", the shape Kata Containers parses (second word, leading 'v'),
// with ember's own name and a version Kata accepts (at least 0.21.1).
TEST(FcCmdLineParameters, TestVersion) {
  TempDir dir;
  for (const std::string& binary : {std::string(EMBER_BINARY), firecracker_link(dir.path(), EMBER_BINARY)}) {
    auto r = run_process({binary, "--version"}, 10s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string("ember v") + EMBER_VERSION + "\n");
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(kata_accepted_version(r.out), std::optional<std::string>(EMBER_VERSION)) << r.out;
  }
}

// --id: Firecracker's validate_instance_id: 1 to 64 characters, alphanumeric or '-'.
TEST(FcCmdLineParameters, TestIdValidation) {
  require_kvm();
  for (const std::string& bad : {std::string(""), std::string(65, 'a'), std::string("has space"), std::string("a_b"),
                                 std::string("a/b"), std::string("a.b")}) {
    auto r = run_ember(vm_json(guest_path("hello")), 30s, {"--id", bad});
    EXPECT_EQ(r.exit_code, 1) << "'" << bad << "'\n" << r.err;
    EXPECT_NE(r.err.find("--id"), std::string::npos) << r.err;
  }
  auto ok = run_ember(vm_json(guest_path("hello")), 30s, {"--id", std::string(64, 'a')});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto dashed = run_ember(vm_json(guest_path("hello")), 30s, {"--id", "vm-0123-ABC"});
  EXPECT_EQ(dashed.exit_code, 0) << dashed.err;
  EXPECT_NE(dashed.err.find("[vm-0123-ABC:"), std::string::npos) << dashed.err;
}

// --api-sock: the socket goes where it is told; a path that exists already is refused.
TEST(FcCmdLineParameters, TestApiSock) {
  require_kvm();
  TempDir dir;
  const std::string taken = dir.write("taken.sock", "");
  auto refused = run_process({EMBER_BINARY, "--api-sock", taken}, 10s);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("--api-sock"), std::string::npos) << refused.err;
  ApiEmber vm(EMBER_BINARY, dir.path() + "/fresh.sock");
  EXPECT_TRUE(vm.ready()) << vm.process().err();
}

// --log-path, --level, --show-level, --show-log-origin: taken on the command line as by PUT
// /logger; lines go to the file, and --level filters them.
TEST(FcCmdLineParameters, TestLoggerFlags) {
  require_kvm();
  TempDir dir;
  const std::string log = dir.path() + "/ember.log";
  auto r = run_ember(vm_json(guest_path("hello")), 30s,
                     {"--log-path", log, "--level", "Debug", "--show-level", "--show-log-origin", "--id", "logvm"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_file_text(log);
  EXPECT_NE(text.find("[logvm:"), std::string::npos) << text;
  // The origin follows the level: "[logvm:<thread>:INFO:<file>:<line>]".
  EXPECT_NE(text.find(":INFO:"), std::string::npos) << text;
  const std::string quiet_log = dir.path() + "/quiet.log";
  auto quiet = run_ember(vm_json(guest_path("hello")), 30s, {"--log-path", quiet_log, "--level", "Error"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(read_file_text(quiet_log).find(":INFO]"), std::string::npos) << read_file_text(quiet_log);
  auto bad = run_ember(vm_json(guest_path("hello")), 30s, {"--level", "Loud"});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("--level"), std::string::npos) << bad.err;
}

// --start-time-us, --start-time-cpu-us, --parent-cpu-time-us: what Firecracker's jailer passes;
// unsigned integers are taken, anything else refused.
TEST(FcCmdLineParameters, TestStartTimeFlags) {
  require_kvm();
  auto ok = run_ember(vm_json(guest_path("hello")), 30s,
                      {"--start-time-us", "1700000000000000", "--start-time-cpu-us", "12", "--parent-cpu-time-us", "0"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  for (const char* flag : {"--start-time-us", "--start-time-cpu-us", "--parent-cpu-time-us"}) {
    auto bad = run_ember(vm_json(guest_path("hello")), 30s, {flag, "-5"});
    EXPECT_EQ(bad.exit_code, 1) << flag << "\n" << bad.err;
    EXPECT_NE(bad.err.find(flag), std::string::npos) << bad.err;
  }
}

// test_describe_snapshot: --snapshot-version prints "v<semver>" on stdout; a snapshot taken by
// the real binary (Full, and Diff with dirty page tracking as Firecracker's test takes it) is
// described by --describe-snapshot with that same version, nothing on stderr, status 0.
TEST(FcCmdLineParameters, TestDescribeSnapshot) {
  require_kvm();
  auto sv = run_process({EMBER_BINARY, "--snapshot-version"}, 10s);
  ASSERT_EQ(sv.exit_code, 0) << sv.err;
  EXPECT_EQ(sv.err, "");
  const std::string snap_version = sv.out.substr(0, sv.out.find('\n'));
  ASSERT_EQ(sv.out, snap_version + "\n");
  // "v<major>.<minor>.<patch>", as Firecracker prints its SNAPSHOT_VERSION.
  int major = -1, minor = -1, patch = -1;
  char end = 0;
  ASSERT_EQ(std::sscanf(snap_version.c_str(), "v%d.%d.%d%c", &major, &minor, &patch, &end), 3) << snap_version;
  EXPECT_GE(major, 1);

  TempDir dir;
  ApiEmber vm(EMBER_BINARY, dir.path() + "/api.sock");
  ASSERT_TRUE(vm.ready()) << vm.process().err();
  EXPECT_EQ(vm.call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true})").status, 204);
  EXPECT_EQ(vm.call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
  EXPECT_EQ(vm.call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  ASSERT_TRUE(vm.process().wait_for_output("tick 2\n", 30s)) << vm.process().out() << vm.process().err();
  EXPECT_EQ(vm.call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  for (const std::string type : {"Full", "Diff"}) {
    const std::string state = dir.path() + "/" + type + ".state";
    const auto r = vm.call("PUT", "/snapshot/create",
                           R"({"snapshot_type": ")" + type + R"(", "snapshot_path": ")" + state +
                               R"(", "mem_file_path": ")" + dir.path() + "/" + type + R"(.mem"})");
    ASSERT_EQ(r.status, 204) << type << ": " << r.body;
    auto d = run_process({EMBER_BINARY, "--describe-snapshot", state}, 10s);
    EXPECT_EQ(d.exit_code, 0) << type << ": " << d.err;
    EXPECT_EQ(d.err, "") << type;
    EXPECT_EQ(d.out, snap_version + "\n") << type;
  }
  vm.process().send_signal(SIGKILL);
  vm.process().wait(10s);
}

// --describe-snapshot on a file that is not a readable ember state file: one line on stderr
// naming the flag, nothing on stdout, status 1 (Firecracker's GenericError for the same case),
// never a crash.
TEST(FcCmdLineParameters, TestDescribeSnapshotBadFiles) {
  TempDir dir;
  struct Case {
    std::string path;
    std::string says;
  };
  const std::vector<Case> cases = {
      {dir.path() + "/missing.state", "cannot open"},
      {dir.write("empty.state", ""), "is empty"},
      {dir.write("config.json", "{\"boot-source\": {}}\n"), "not an ember snapshot state file"},
      {dir.write("truncated.state", std::string("EMBERSNP\x01\0\0\0", 12)), "truncated"},
      {dir.path(), "not a regular file"},
  };
  for (const auto& c : cases) {
    auto r = run_process({EMBER_BINARY, "--describe-snapshot", c.path}, 10s);
    EXPECT_EQ(r.exit_code, 1) << c.path << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.path;
    EXPECT_EQ(r.err.rfind("ember: --describe-snapshot: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // No file named: CLI11 refuses the flag like any option missing its value.
  auto r = run_process({EMBER_BINARY, "--describe-snapshot"}, 10s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace ember::test
