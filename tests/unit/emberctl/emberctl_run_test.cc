// emberctl end to end on the host, with the fake ember of fake_ember_test.cc (the real API
// server and the real agent session; commands run on the host): everything but the VM.
// emberctl itself runs in a forked child of the test, with its stdin, stdout and stderr piped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "emberctl/cli.h"
#include "emberctl/exit_codes.h"
#include "emberctl/interrupt.h"
#include "emberctl/vm_boot.h"

namespace ember::ctl {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CtlResult {
  int status = -1;  // exit status, or 128+N when killed by signal N
  std::string out, err;
};

class EmberctlRun : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    std::string t = (fs::temp_directory_path() / "emberctl-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    root_ = t;
    for (const char* d : {"/tmp", "/artifacts/kernel", "/artifacts/l2", "/bin", "/host", "/guest", "/pools"})
      fs::create_directories(root_ + d);
    std::ofstream(root_ + "/artifacts/kernel/vmlinux") << "kernel";
    std::ofstream(root_ + "/artifacts/l2/initramfs.cpio.gz") << "initrd";
    std::ofstream(root_ + "/artifacts/l2/rootfs.ext4") << "original rootfs";
    // The fake ember: this test binary, told to play ember.
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    ember_ = root_ + "/bin/ember";
    std::ofstream(ember_) << "#!/bin/sh\nEMBERCTL_FAKE_EMBER=1 exec '" << self
                          << "' --gtest_filter=EmberctlFakeEmber.EntryPoint \"$@\"\n";
    fs::permissions(ember_, fs::perms::owner_all);
    env_ = {{"TMPDIR", root_ + "/tmp"},
            {"EMBER_GUEST_ARTIFACTS", root_ + "/artifacts"},
            {"EMBERCTL_FAKE_LOG", log_path()},
            {"EMBERCTL_FAKE_MODE", ""},
            {"EMBERCTL_FAKE_VERSION", "fake-1"},
            {"XDG_STATE_HOME", root_ + "/state"}};
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string log_path() const { return root_ + "/fake.log"; }
  std::vector<std::string> log_lines(const std::string& prefix) const {
    std::vector<std::string> out;
    std::istringstream in(read_text(log_path()));
    for (std::string line; std::getline(in, line);)
      if (line == prefix) {
        out.emplace_back();
      } else if (line.rfind(prefix + " ", 0) == 0) {
        out.push_back(line.substr(prefix.size() + 1));
      }
    return out;
  }

  // Runs `emberctl ARGS` (with --ember the fake where the subcommand takes it).
  CtlResult emberctl(std::vector<std::string> args, const std::string& input = "",
                     const std::function<void(pid_t, const std::string&)>& on_output = {}) {
    args.insert(args.begin(), "emberctl");
    return in_child(
        [&args] {
          std::vector<const char*> argv;
          for (const auto& a : args) argv.push_back(a.c_str());
          argv.push_back(nullptr);
          return emberctl_main(static_cast<int>(args.size()), argv.data());
        },
        input, on_output);
  }

  // Runs `body` as emberctl runs: in a forked child with the test's environment and piped
  // streams; its return value is the exit status.
  CtlResult in_child(const std::function<int()>& body, const std::string& input = "",
                     const std::function<void(pid_t, const std::string&)>& on_output = {}) {
    int in[2], out[2], err[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // No exec follows: close the parent's ends by hand (or stdin never sees EOF).
      ::close(in[1]);
      ::close(out[0]);
      ::close(err[0]);
      for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      const int code = body();
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(code);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!input.empty()) {
      EXPECT_EQ(::write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
    }
    ::close(in[1]);
    CtlResult r;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open = 2;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (open > 0 && std::chrono::steady_clock::now() < give_up) {
      if (::poll(fds, 2, 1000) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        char buf[4096];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          fds[i].fd = -1;
          --open;
          continue;
        }
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        if (on_output && i == 0) on_output(pid, r.out);
      }
    }
    if (open > 0) {
      ADD_FAILURE() << "emberctl did not finish in 60 s; stderr so far:\n" << r.err;
      ::kill(pid, SIGKILL);
    }
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
  }

  std::vector<std::string> run_args(std::vector<std::string> extra, std::vector<std::string> command) {
    std::vector<std::string> a = {"run", "--ember", ember_, "--ready-timeout", "20"};
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back("--");
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }

  // Nothing of a run is left: no scratch folder (sockets, rootfs copy), no fake ember process.
  void expect_cleaned_up() {
    EXPECT_TRUE(fs::is_empty(root_ + "/tmp")) << "scratch left in " << root_ << "/tmp";
    for (const auto& pid : log_lines("pid")) {
      errno = 0;
      EXPECT_EQ(::kill(std::stoi(pid), 0), -1) << "fake ember " << pid << " still exists";
      EXPECT_EQ(errno, ESRCH);
    }
  }

  std::string root_;
  std::string ember_;
  std::map<std::string, std::string> env_;
};

TEST_F(EmberctlRun, StreamsBothOutputsAndExitsWithTheCommandsStatus) {
  auto r = emberctl(run_args({}, {"sh", "-c", "echo out; echo err >&2; exit 7"}));
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_NE(r.err.find("err\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("emberctl:"), std::string::npos) << "no progress lines when stderr is not a terminal: " << r.err;
  // The VM was configured from the artifacts; the rootfs was a private copy.
  EXPECT_EQ(log_lines("kernel"), std::vector<std::string>{root_ + "/artifacts/kernel/vmlinux"});
  EXPECT_EQ(log_lines("initrd"), std::vector<std::string>{root_ + "/artifacts/l2/initramfs.cpio.gz"});
  auto boot_args = log_lines("boot_args");
  ASSERT_EQ(boot_args.size(), 1u);
  EXPECT_NE(boot_args[0].find("ember.agent=1"), std::string::npos);
  EXPECT_NE(boot_args[0].find("ember.root=/dev/vda"), std::string::npos);
  auto drives = log_lines("drive");
  ASSERT_EQ(drives.size(), 1u);
  EXPECT_EQ(drives[0].rfind(root_ + "/tmp/emberctl-", 0), 0u) << drives[0];
  EXPECT_NE(drives[0].find("root=1 ro=0"), std::string::npos);
  EXPECT_EQ(read_text(root_ + "/artifacts/l2/rootfs.ext4"), "original rootfs");
  EXPECT_EQ(log_lines("clock").size(), 1u) << "the guest clock is set";
  expect_cleaned_up();
}

TEST_F(EmberctlRun, CopyInThenCopyOutRoundTripsAFile) {
  std::vector<char> data(300'000);
  std::mt19937 rng(3);
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string src = root_ + "/host/input.bin";
  std::ofstream(src, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  const std::string guest = root_ + "/guest";  // the fake's "guest" is this host
  auto r = emberctl(run_args({"--copy-in", src + ":" + guest + "/sub/", "--copy-out", guest + "/out.bin:" + root_ + "/host/"},
                             {"sh", "-c", "cp " + guest + "/sub/input.bin " + guest + "/out.bin"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_text(root_ + "/host/out.bin"), std::string(data.begin(), data.end()));
  expect_cleaned_up();
}

TEST_F(EmberctlRun, CopyOutOfAMissingFileFailsWithItsCode) {
  auto r = emberctl(run_args({"--copy-out", root_ + "/guest/none:" + root_ + "/host/none"}, {"true"}));
  EXPECT_EQ(r.status, kExitCopyFailed) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ + "/host/none"));
  // A failing command keeps its own status; the copy-out failure is still reported.
  auto r2 = emberctl(run_args({"--copy-out", root_ + "/guest/none:" + root_ + "/host/none"}, {"sh", "-c", "exit 3"}));
  EXPECT_EQ(r2.status, 3);
  EXPECT_NE(r2.err.find("--copy-out"), std::string::npos) << r2.err;
}

TEST_F(EmberctlRun, MissingCommandGivesItsCode) {
  auto r = emberctl(run_args({}, {"ember-no-such-command", "x"}));
  EXPECT_EQ(r.status, kExitCommandNotStarted) << r.err;
  EXPECT_NE(r.err.find("command not found: ember-no-such-command"), std::string::npos) << r.err;
  expect_cleaned_up();
}

TEST_F(EmberctlRun, DeathBySignalIs128PlusTheSignal) {
  auto r = emberctl(run_args({"--json"}, {"sh", "-c", "printf partial; kill -9 $$"}));
  EXPECT_EQ(r.status, 128 + 9);
  // The JSON line starts on a line of its own after the command's unfinished line.
  const auto nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(r.out.substr(0, nl), "partial");
  auto j = nlohmann::json::parse(r.out.substr(nl + 1));
  EXPECT_EQ(j["exit_code"], 137);
  EXPECT_EQ(j["signal"], 9);
  EXPECT_TRUE(j["command_exit_code"].is_null());
}

TEST_F(EmberctlRun, JsonLineFollowsTheOutput) {
  auto r = emberctl(run_args({"--json"}, {"sh", "-c", "echo hello; exit 5"}));
  EXPECT_EQ(r.status, 5);
  ASSERT_EQ(r.out.rfind("hello\n", 0), 0u) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(6));
  EXPECT_EQ(j["exit_code"], 5);
  EXPECT_EQ(j["command_exit_code"], 5);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_GE(j["durations_s"]["total"].get<double>(), j["durations_s"]["command"].get<double>());
}

TEST_F(EmberctlRun, StdinIsForwarded) {
  auto r = emberctl(run_args({}, {"sh", "-c", "tr a-z A-Z"}), "hello from stdin\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO FROM STDIN\n");
}

TEST_F(EmberctlRun, EnvironmentAndWorkdirReachTheCommand) {
  auto r = emberctl(run_args({"-e", "FOO=bar baz", "--workdir", root_ + "/guest"}, {"sh", "-c", "echo \"$FOO\"; pwd"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bar baz\n" + fs::canonical(root_ + "/guest").string() + "\n");
}

TEST_F(EmberctlRun, TimeoutKillsTheVmAndLeavesNothing) {
  const auto start = std::chrono::steady_clock::now();
  auto r = emberctl(run_args({"--timeout", "2", "--json"}, {"sh", "-c", "echo $$; exec sleep 100"}));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, kExitTimeout) << r.err;
  EXPECT_LT(took, std::chrono::seconds(15));
  EXPECT_NE(r.err.find("timed out after 2 s"), std::string::npos) << r.err;
  const auto nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const pid_t command = std::stoi(r.out.substr(0, nl));
  auto j = nlohmann::json::parse(r.out.substr(nl + 1));
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["exit_code"], kExitTimeout);
  errno = 0;
  EXPECT_EQ(::kill(command, 0), -1) << "the command survived";
  expect_cleaned_up();
}

TEST_F(EmberctlRun, SigtermStopsEverything) {
  bool sent = false;
  auto r = emberctl(run_args({}, {"sh", "-c", "echo started; exec sleep 100"}), "",
                    [&sent](pid_t pid, const std::string& out) {
                      if (!sent && out.find("started\n") != std::string::npos) {
                        ::kill(pid, SIGTERM);
                        sent = true;
                      }
                    });
  EXPECT_TRUE(sent);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  EXPECT_NE(r.err.find("stopped by SIGTERM"), std::string::npos) << r.err;
  expect_cleaned_up();
}

TEST_F(EmberctlRun, AgentThatNeverAnswersGivesItsCodeAndTheLogs) {
  env_["EMBERCTL_FAKE_MODE"] = "no-agent";
  auto args = run_args({}, {"true"});
  args[4] = "1";  // --ready-timeout 1
  auto r = emberctl(args);
  EXPECT_EQ(r.status, kExitGuestNotReady) << r.err;
  EXPECT_NE(r.err.find("did not answer within 1 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--- guest console"), std::string::npos) << "the console tail helps: " << r.err;
  expect_cleaned_up();
}

TEST_F(EmberctlRun, VmDyingWhileBootingIsReportedAtOnce) {
  env_["EMBERCTL_FAKE_MODE"] = "exit-on-start";
  const auto start = std::chrono::steady_clock::now();
  auto r = emberctl(run_args({}, {"true"}));
  EXPECT_EQ(r.status, kExitGuestNotReady) << r.err;
  EXPECT_NE(r.err.find("ember ended (exit status 2)"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "not the whole ready timeout";
  expect_cleaned_up();
}

TEST_F(EmberctlRun, MissingInputsAndBadUsageGiveTheirCodes) {
  auto r = emberctl(run_args({"--kernel", root_ + "/nope"}, {"true"}));
  EXPECT_EQ(r.status, kExitMissingInput);
  EXPECT_NE(r.err.find(root_ + "/nope"), std::string::npos) << r.err;
  env_["EMBER_GUEST_ARTIFACTS"] = root_ + "/nothing-here";
  auto r2 = emberctl(run_args({}, {"true"}));
  EXPECT_EQ(r2.status, kExitMissingInput);
  EXPECT_NE(r2.err.find("build-guest-artifacts.sh"), std::string::npos) << r2.err;
  auto r3 = emberctl(run_args({"--copy-in", root_ + "/host/missing:/x"}, {"true"}));
  EXPECT_EQ(r3.status, kExitMissingInput);
  auto r4 = emberctl({"run", "--cpus", "0", "--", "true"});
  EXPECT_EQ(r4.status, kExitUsage);
  auto r5 = emberctl({"run", "--ember", root_ + "/bin/nothing", "--", "true"});
  EXPECT_EQ(r5.status, kExitMissingInput);
  auto r6 = emberctl({"frobnicate"});
  EXPECT_EQ(r6.status, kExitUsage);
  expect_cleaned_up();
}

TEST_F(EmberctlRun, NoRootfsAndNoInitrdLeaveThemOut) {
  auto r = emberctl(run_args({"--no-rootfs", "--no-initrd", "--cpus", "2", "--mem", "64"}, {"true"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(log_lines("drive").empty());
  EXPECT_EQ(log_lines("initrd"), std::vector<std::string>{""});
  EXPECT_EQ(log_lines("machine"), std::vector<std::string>{"2 64"});
  auto boot_args = log_lines("boot_args");
  ASSERT_EQ(boot_args.size(), 1u);
  EXPECT_EQ(boot_args[0].find("ember.root="), std::string::npos);
}

TEST_F(EmberctlRun, KeepLeavesTheScratchFolder) {
  auto r = emberctl(run_args({"--keep"}, {"true"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("kept " + root_ + "/tmp/emberctl-"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::is_empty(root_ + "/tmp"));
}

TEST_F(EmberctlRun, SeveralRunsAtOnce) {
  std::vector<std::thread> threads;
  std::vector<CtlResult> results(3);
  // fork() from several threads: each child runs emberctl alone.
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] { results[i] = emberctl(run_args({}, {"sh", "-c", "sleep 0.3; echo " + std::to_string(i)})); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].status, 0) << results[i].err;
    EXPECT_EQ(results[i].out, std::to_string(i) + "\n");
  }
  expect_cleaned_up();
}

// ---- emberctl api ----------------------------------------------------------------------------

TEST_F(EmberctlRun, ApiSubcommand) {
  // A fake ember serving its API, as a user would start ember.
  const std::string sock = root_ + "/api.sock";
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
    ::setenv("EMBERCTL_FAKE_EMBER", "1", 1);
    ::execl(ember_.c_str(), ember_.c_str(), "--api-sock", sock.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200 && !fs::exists(sock); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto ok = emberctl({"api", "GET", "/version", "--sock", sock});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "{\"firecracker_version\":\"fake-1\"}\n");
  auto refused = emberctl({"api", "put", "/machine-config", "{\"vcpu_count\": 0}", "--sock", sock});
  EXPECT_EQ(refused.status, kExitApiErrorStatus);
  EXPECT_NE(refused.err.find("400"), std::string::npos) << refused.err;
  auto from_stdin = emberctl({"api", "PUT", "/machine-config", "-", "--sock", sock}, "{\"vcpu_count\": 2, \"mem_size_mib\": 64}");
  EXPECT_EQ(from_stdin.status, 0) << from_stdin.err;
  EXPECT_EQ(log_lines("machine"), std::vector<std::string>{"2 64"});
  auto bad_method = emberctl({"api", "DELETE", "/", "--sock", sock});
  EXPECT_EQ(bad_method.status, kExitUsage);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  auto nobody = emberctl({"api", "GET", "/", "--sock", sock});
  EXPECT_EQ(nobody.status, kExitApiUnreachable) << nobody.err;
}

// ---- emberctl pool (against the fake's snapshot endpoints) -------------------------------------

// boot_vm itself, the way `run`, `pool create` and `pool run` all bring a VM up: the inspection
// sees ember's API before anything is sent, and its refusal ends the boot with nothing
// configured and no diagnostics; a boot that goes through hands back the agent's READY.
TEST_F(EmberctlRun, BootVmInspectsBeforeTheCallsAndHandsBackTheReadyAgent) {
  auto boot = [&](bool refuse) {
    return in_child([&]() -> int {
      auto watch = InterruptWatch::install();
      if (!watch) return 100;
      RunContext ctx(*watch, 0);
      auto host = VmHost::create(false);
      if (!host) return 101;
      VmSpec spec;
      spec.kernel = root_ + "/artifacts/kernel/vmlinux";
      spec.vsock_uds = (*host)->vsock_socket();
      BootPlan plan;
      plan.ember = ember_;
      plan.inspect = [refuse](ApiClient& api) -> std::optional<BootFailure> {
        auto version = api.request("GET", "/version");
        if (!version || version->status != 200) return BootFailure(102, "no version");
        if (refuse) return BootFailure(42, "refused");
        return std::nullopt;
      };
      plan.calls = configure_calls(spec);
      plan.calls_step = "configuring";
      plan.ready_timeout_s = 20;
      plan.not_ready = "not ready";
      auto booted = boot_vm(**host, plan, ctx);
      if (auto* failed = std::get_if<BootFailure>(&booted)) {
        std::printf("%s|%s", failed->message.c_str(), failed->diagnostics.c_str());
        return failed->code;
      }
      const BootedVm& vm = std::get<BootedVm>(booted);
      std::printf("%s %d", vm.ready.agent_version.c_str(), vm.start_s > 0 && vm.ready_s >= 0);
      return 0;
    });
  };
  auto refused = boot(true);
  EXPECT_EQ(refused.status, 42) << refused.err;
  EXPECT_EQ(refused.out, "refused|");
  EXPECT_TRUE(log_lines("kernel").empty()) << "configured despite the refusal";
  auto ready = boot(false);
  EXPECT_EQ(ready.status, 0) << ready.err;
  EXPECT_EQ(ready.out, "fake-agent 1");
  EXPECT_EQ(log_lines("kernel").size(), 1u);
  expect_cleaned_up();
}

TEST_F(EmberctlRun, PoolCreateRunListRemove) {
  const std::string pools = root_ + "/pools";
  auto created = emberctl({"pool", "create", "ci", "--ember", ember_, "--pool-dir", pools, "--cpus", "2"});
  ASSERT_EQ(created.status, 0) << created.err;
  EXPECT_EQ(log_lines("pause").size(), 1u) << read_text(log_path());
  auto snap = log_lines("snapshot-create");
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0], pools + "/ci/vm.state " + pools + "/ci/vm.mem");
  EXPECT_TRUE(log_lines("drive").empty()) << "pool clones run from RAM";
  auto info = nlohmann::json::parse(read_text(pools + "/ci/pool.json"));
  EXPECT_EQ(info["ember_version"], "fake-1");
  EXPECT_EQ(info["vcpu_count"], 2);

  auto again = emberctl({"pool", "create", "ci", "--ember", ember_, "--pool-dir", pools});
  EXPECT_EQ(again.status, kExitUsage);
  EXPECT_NE(again.err.find("exists"), std::string::npos);

  // Two clones at once, each with its own vsock socket.
  std::vector<CtlResult> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      results[i] = emberctl({"pool", "run", "ci", "--ember", ember_, "--pool-dir", pools, "--", "sh", "-c",
                             "echo clone" + std::to_string(i) + "; exit " + std::to_string(i + 10)});
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(results[i].status, i + 10) << results[i].err;
    EXPECT_EQ(results[i].out, "clone" + std::to_string(i) + "\n");
  }
  auto loads = log_lines("snapshot-load");
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_NE(loads[0], loads[1]) << "each clone has its own vsock path";
  EXPECT_NE(loads[0].find(" resume=1"), std::string::npos);

  auto listed = emberctl({"pool", "ls", "--pool-dir", pools, "--json"});
  EXPECT_EQ(listed.status, 0);
  auto list = nlohmann::json::parse(listed.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "ci");

  env_["EMBERCTL_FAKE_VERSION"] = "fake-2";
  auto stale = emberctl({"pool", "run", "ci", "--ember", ember_, "--pool-dir", pools, "--", "true"});
  EXPECT_EQ(stale.status, kExitMissingInput);
  EXPECT_NE(stale.err.find("recreate"), std::string::npos) << stale.err;

  EXPECT_EQ(emberctl({"pool", "rm", "ci", "--pool-dir", pools}).status, 0);
  EXPECT_FALSE(fs::exists(pools + "/ci"));
  auto gone = emberctl({"pool", "run", "ci", "--ember", ember_, "--pool-dir", pools, "--", "true"});
  EXPECT_EQ(gone.status, kExitMissingInput);
  expect_cleaned_up();
}

TEST_F(EmberctlRun, PoolCreateFailureLeavesNoPool) {
  env_["EMBERCTL_FAKE_MODE"] = "no-agent";
  const std::string pools = root_ + "/pools";
  auto r = emberctl({"pool", "create", "broken", "--ember", ember_, "--pool-dir", pools, "--ready-timeout", "1"});
  EXPECT_EQ(r.status, kExitGuestNotReady) << r.err;
  EXPECT_FALSE(fs::exists(pools + "/broken"));
  expect_cleaned_up();
}

}  // namespace
}  // namespace ember::ctl
