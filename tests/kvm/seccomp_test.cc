// ember's seccomp filters on the real binary: every thread confined while a guest runs, the
// VM still served through the API, custom filter files honoured (a forbidden call kills the
// process with SIGSYS in the thread kind that makes it), and bad filter files refused up front.
#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/client_launch.h"
#include "tests/kvm/ember_process.h"
#include "vmm/seccomp/builtin_filters.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using seccomp::ThreadKind;

// --- The process's threads, as /proc shows them --------------------------------------------------

struct TaskInfo {
  std::string name;  // comm
  int seccomp = -1;  // the Seccomp: line of status (0 none, 2 filter)
};

// Every thread of `pid` by thread id.
std::map<int, TaskInfo> tasks_of(int pid) {
  std::map<int, TaskInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const std::string dir = entry.path().string();
    TaskInfo info;
    info.name = read_file_text(dir + "/comm");
    if (!info.name.empty() && info.name.back() == '\n') info.name.pop_back();
    std::istringstream status(read_file_text(dir + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Seccomp:", 0) == 0) info.seccomp = std::stoi(line.substr(8));
    }
    out[std::stoi(entry.path().filename().string())] = info;
  }
  return out;
}

std::string describe(const std::map<int, TaskInfo>& tasks) {
  std::string s;
  for (const auto& [tid, t] : tasks) s += std::to_string(tid) + " " + t.name + " Seccomp:" + std::to_string(t.seccomp) + "\n";
  return s;
}

// --- Filter files ------------------------------------------------------------------------------

// A filter in Firecracker's JSON shape.
json to_json(const seccomp::Filter& f) {
  json rules = json::array();
  for (const auto& r : f.rules) {
    json rule = {{"syscall", r.syscall}};
    if (!r.args.empty()) {
      json args = json::array();
      for (const auto& c : r.args) {
        json op;
        switch (c.op) {
          case seccomp::CmpOp::kEq: op = "eq"; break;
          case seccomp::CmpOp::kNe: op = "ne"; break;
          case seccomp::CmpOp::kLt: op = "lt"; break;
          case seccomp::CmpOp::kLe: op = "le"; break;
          case seccomp::CmpOp::kGt: op = "gt"; break;
          case seccomp::CmpOp::kGe: op = "ge"; break;
          case seccomp::CmpOp::kMaskedEq: op = {{"masked_eq", c.mask}}; break;
        }
        args.push_back({{"index", c.index},
                        {"type", c.width == seccomp::ArgWidth::kDword ? "dword" : "qword"},
                        {"op", op},
                        {"val", c.value}});
      }
      rule["args"] = args;
    }
    rules.push_back(rule);
  }
  return {{"default_action", "kill_process"}, {"filter_action", "allow"}, {"filter", rules}};
}

// The built-in filters as a filter file, with `kind`'s filter edited by `edit`.
std::string builtin_file(ThreadKind kind = ThreadKind::kVmm,
                         const std::function<void(json& filter)>& edit = [](json&) {}) {
  json file;
  for (ThreadKind k : seccomp::kAllThreadKinds) {
    json f = to_json(seccomp::builtin_filter(k));
    if (k == kind) edit(f);
    file[std::string(seccomp::thread_kind_name(k))] = f;
  }
  return file.dump(2);
}

// Drops every rule for the calls in `names`.
std::function<void(json&)> without(std::set<std::string> names) {
  return [names](json& filter) {
    json kept = json::array();
    for (const auto& rule : filter["filter"])
      if (!names.contains(rule["syscall"].get<std::string>())) kept.push_back(rule);
    filter["filter"] = kept;
  };
}

// Drops the ioctl rule for `request` only.
std::function<void(json&)> without_ioctl(unsigned long request) {
  return [request](json& filter) {
    json kept = json::array();
    for (const auto& rule : filter["filter"]) {
      const bool match = rule["syscall"] == "ioctl" && rule.contains("args") && rule["args"].size() == 1 &&
                         rule["args"][0]["val"].get<uint64_t>() == request;
      if (!match) kept.push_back(rule);
    }
    filter["filter"] = kept;
  };
}

bool killed_by_sigsys(const ProcessResult& r) { return r.exit_code == -1 && r.signal == SIGSYS; }

class Seccomp : public ::testing::Test {
 protected:
  void SetUp() override {
    require_kvm();
    // A process the filter kills dumps no core into the test's directory.
    const rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    sock_ = dir_.path() + "/api.sock";
  }

  // Starts ember serving the API, with `extra` flags.
  void start_api(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {EMBER_BINARY, "--api-sock", sock_, "--id", "seccomp-test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ember_ = std::make_unique<BackgroundProcess>(argv);
    ASSERT_TRUE(ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true)) << ember_->err();
    pid_ = socket_server_pid(sock_);
    ASSERT_GT(pid_, 0);
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }

  // Configures the ticker guest with `vcpus` vCPUs, starts it and waits for its ticks.
  void boot_ticker(int vcpus) {
    EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": )" + std::to_string(vcpus) + R"(, "mem_size_mib": 64})").status, 204);
    EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    ASSERT_TRUE(ember_->wait_for_output("tick 3\n", 30s)) << ember_->out() << ember_->err();
  }

  // Expects every thread confined (or none, with `filtered` false) and the threads ember names.
  void expect_threads(bool filtered, int vcpus) {
    const auto tasks = tasks_of(pid_);
    ASSERT_FALSE(tasks.empty());
    const int want = filtered ? 2 : 0;
    ASSERT_TRUE(tasks.contains(pid_));
    EXPECT_EQ(tasks.at(pid_).seccomp, want) << "VMM (main) thread\n" << describe(tasks);
    // Threads KVM starts in the process (kvm-nx-lpage-recovery) are the kernel's, not ember's.
    std::set<std::string> names;
    for (const auto& [tid, t] : tasks) {
      if (tid != pid_ && t.name.rfind("ember_", 0) != 0) continue;
      names.insert(t.name);
      EXPECT_EQ(t.seccomp, want) << t.name << "\n" << describe(tasks);
    }
    EXPECT_TRUE(names.contains("ember_api")) << describe(tasks);
    for (int i = 0; i < vcpus; ++i) EXPECT_TRUE(names.contains("ember_vcpu" + std::to_string(i))) << describe(tasks);
    EXPECT_EQ(names.size(), static_cast<size_t>(2 + vcpus)) << describe(tasks);
  }

  TempDir dir_;
  std::string sock_;
  std::unique_ptr<BackgroundProcess> ember_;
  int pid_ = -1;
};

// The default: the API thread is confined from the start, the VMM thread from InstanceStart, each
// vCPU thread before its first KVM_RUN; the VM still runs, pauses, resumes and stops in order.
TEST_F(Seccomp, EveryThreadIsConfinedWhileTheGuestRuns) {
  start_api();
  // Before InstanceStart only the API thread is confined; the VMM thread is still configuring.
  auto before = tasks_of(pid_);
  EXPECT_EQ(before.at(pid_).seccomp, 0) << describe(before);
  for (const auto& [tid, t] : before) {
    if (t.name == "ember_api") {
      EXPECT_EQ(t.seccomp, 2) << describe(before);
    }
  }

  boot_ticker(2);
  expect_threads(/*filtered=*/true, 2);

  // The API and the runtime controller still work under the filters.
  EXPECT_NE(call("GET", "/").body.find("\"Running\""), std::string::npos);
  EXPECT_EQ(call("GET", "/vm/config").status, 200);
  EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  const std::string frozen = ember_->out();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ember_->out(), frozen) << "the guest kept running while paused";
  EXPECT_EQ(call("PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  EXPECT_TRUE(ember_->wait_for_output("tick", 5s));
  EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 400);

  // The orderly stop (vCPUs joined, API socket removed) happens under the VMM filter.
  ember_->send_signal(SIGTERM);
  auto r = ember_->wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_FALSE(std::filesystem::exists(sock_));
}

TEST_F(Seccomp, NoSeccompLeavesEveryThreadUnconfined) {
  start_api({"--no-seccomp"});
  boot_ticker(1);
  expect_threads(/*filtered=*/false, 1);
}

// A filter file holding exactly the built-in filters runs the VM like the default does.
TEST_F(Seccomp, CustomFilterFileIsHonoured) {
  const std::string file = dir_.write("filters.json", builtin_file());
  start_api({"--seccomp-filter", file});
  boot_ticker(2);
  expect_threads(/*filtered=*/true, 2);

  auto r = run_ember(vm_json(guest_path("hello")), 60s, {"--seccomp-filter", file});
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos) << r.out;
}

// Without accept, the API thread dies on the first connection (a "trap" is SIGSYS too).
TEST_F(Seccomp, ApiThreadKilledForAForbiddenAccept) {
  const std::string file = dir_.write("filters.json", builtin_file(ThreadKind::kApi, [](json& f) {
    without({"accept", "accept4"})(f);
    f["default_action"] = "trap";
  }));
  start_api({"--seccomp-filter", file});
  (void)api_request(sock_, "GET", "/", "", 2s);
  auto r = ember_->wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(killed_by_sigsys(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
}

// Without KVM_RUN, the first vCPU thread dies as it enters the guest; nothing ran.
TEST_F(Seccomp, VcpuThreadKilledForAForbiddenKvmRun) {
  const std::string file = dir_.write("filters.json", builtin_file(ThreadKind::kVcpu, without_ioctl(KVM_RUN)));
  auto r = run_ember(vm_json(guest_path("hello")), 60s, {"--seccomp-filter", file});
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(killed_by_sigsys(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.out.find("Hello"), std::string::npos) << r.out;
}

// Without epoll_wait, the VMM thread dies when its event loop runs the started VM.
TEST_F(Seccomp, VmmThreadKilledForAForbiddenEpollWait) {
  const std::string file = dir_.write("filters.json", builtin_file(ThreadKind::kVmm, without({"epoll_wait", "epoll_pwait"})));
  auto r = run_ember(vm_json(guest_path("boottime")), 60s, {"--seccomp-filter", file});
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(killed_by_sigsys(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
}

// The same file, through the API: configuration works (the VMM thread is not confined yet),
// InstanceStart confines it, and its next epoll_wait kills the process.
TEST_F(Seccomp, VmmThreadConfinedOnlyFromInstanceStart) {
  const std::string file = dir_.write("filters.json", builtin_file(ThreadKind::kVmm, without({"epoll_wait", "epoll_pwait"})));
  start_api({"--seccomp-filter", file});
  EXPECT_EQ(call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 204);
  EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("boottime") + R"("})").status, 204);
  (void)api_request(sock_, "PUT", "/actions", R"({"action_type": "InstanceStart"})", 5s);
  auto r = ember_->wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(killed_by_sigsys(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
}

// A bad filter file stops ember before anything starts: status 1, the field named, no socket.
TEST_F(Seccomp, BadFilterFilesAreRefusedUpFront) {
  struct Case {
    std::string content;
    const char* needle;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {builtin_file(ThreadKind::kVcpu, [](json& f) { f["filter"].push_back({{"syscall", "no_such_call"}}); }),
       "vcpu.filter["},
      {builtin_file(ThreadKind::kApi, [](json& f) { f["filter"][0]["args"] = {{{"index", 1}, {"type", "dword"}, {"op", "about"}, {"val", 1}}}; }),
       "api.filter[0].args[0].op: unknown operator 'about'"},
      {builtin_file(ThreadKind::kVmm, [](json& f) { f["filter"][0]["args"] = {{{"index", 1}, {"type", "word"}, {"op", "eq"}, {"val", 1}}}; }),
       "vmm.filter[0].args[0].type"},
      {builtin_file(ThreadKind::kVmm, [](json& f) { f.erase("default_action"); }), "vmm: missing field 'default_action'"},
  };
  for (const Case& c : cases) {
    const std::string file = dir_.write("bad.json", c.content);
    auto r = run_process({EMBER_BINARY, "--api-sock", sock_, "--seccomp-filter", file}, 30s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("--seccomp-filter: " + file + ": "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(sock_)) << "the API socket was created";
  }
  auto missing = run_process({EMBER_BINARY, "--api-sock", sock_, "--seccomp-filter", dir_.path() + "/nope.json"}, 30s);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--seccomp-filter: cannot open"), std::string::npos) << missing.err;

  auto both = run_process({EMBER_BINARY, "--api-sock", sock_, "--no-seccomp", "--seccomp-filter", "x.json"}, 30s);
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("--no-seccomp and --seccomp-filter exclude each other"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace ember::test
