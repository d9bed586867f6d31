// ember-jailer around the real (static) ember on /dev/kvm, checked from outside the jail: the
// process's ids, root, mounts, cgroups, network namespace, rlimits and pid namespace in /proc, the
// test guest's serial output, and, for bad input, a clear refusal that leaves nothing behind.
// Root only: the tests fail (never skip) without it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "jailer/exit_codes.h"
#include "tests/jailer/jail_harness.h"

namespace ember::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kTicking = "tick 3";  // the ticker guest is well under way

std::string uid_line(uint32_t id) {
  const std::string s = std::to_string(id);
  return s + "\t" + s + "\t" + s + "\t" + s;
}

std::string limits_line(pid_t pid, const std::string& name) {
  std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(name, 0) == 0) return line;
  return "";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

TEST_F(JailerTest, BootsATestGuestInTheJail) {
  const std::string id = new_id();
  const std::string root = prepare_root("hello", id);
  auto r = run_process(jailer_argv(id, {}), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("[" + id + ":main:"), std::string::npos) << "ember did not get --id: " << r.err;

  // The jail: a copy of ember (not the host's file), device nodes with the host's numbers
  // owned by the jail's uid/gid, and a root that uid/gid owns.
  const struct stat copy = stat_of(root + "/ember-static");
  const struct stat original = stat_of(EMBER_STATIC_BINARY);
  EXPECT_TRUE(S_ISREG(copy.st_mode));
  EXPECT_FALSE(copy.st_dev == original.st_dev && copy.st_ino == original.st_ino) << "ember was not copied";
  EXPECT_EQ(copy.st_size, original.st_size);
  for (const std::string node : {"/dev/kvm", "/dev/net/tun", "/dev/urandom"}) {
    const struct stat jailed = stat_of(root + node);
    EXPECT_TRUE(S_ISCHR(jailed.st_mode)) << node;
    EXPECT_EQ(jailed.st_mode & 07777, 0600u) << node;
    EXPECT_EQ(jailed.st_uid, kJailUid) << node;
    EXPECT_EQ(jailed.st_gid, kJailGid) << node;
    struct stat host {};
    if (::stat(node.c_str(), &host) == 0) {
      EXPECT_EQ(jailed.st_rdev, host.st_rdev) << node;
    }
  }
  const struct stat jail_root = stat_of(root);
  EXPECT_EQ(jail_root.st_uid, kJailUid);
  EXPECT_EQ(jail_root.st_gid, kJailGid);
  EXPECT_EQ(jail_root.st_mode & 07777, 0700u);
}

TEST_F(JailerTest, EmberRunsAsTheUidGidWithoutPrivilegesSeeingOnlyTheJail) {
  const std::string id = new_id();
  const std::string root = prepare_root("ticker", id);
  const std::string host_file = base_dir_->write("host-only-file", "outside the jail");
  JailerProcess jailer(jailer_argv(id, {}), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const pid_t pid = jailer.pid();  // the jailer exec'd ember in place
  const std::string proc = "/proc/" + std::to_string(pid);

  EXPECT_EQ(proc_status_field(pid, "Uid"), uid_line(kJailUid));
  EXPECT_EQ(proc_status_field(pid, "Gid"), uid_line(kJailGid));
  EXPECT_EQ(proc_status_field(pid, "Groups"), "");
  EXPECT_EQ(proc_status_field(pid, "CapPrm"), "0000000000000000");
  EXPECT_EQ(proc_status_field(pid, "CapEff"), "0000000000000000");
  EXPECT_EQ(proc_status_field(pid, "NoNewPrivs"), "1");

  // Its root is the chroot directory, its mount namespace holds nothing else, and a host file
  // does not exist for it.
  char link[4096] = {};
  ASSERT_GT(::readlink((proc + "/root").c_str(), link, sizeof link - 1), 0);
  EXPECT_STREQ(link, "/") << "a root outside the test's mount namespace reads as /";
  const struct stat seen_root = stat_of(proc + "/root/");
  const struct stat chroot = stat_of(root);
  EXPECT_EQ(seen_root.st_dev, chroot.st_dev);
  EXPECT_EQ(seen_root.st_ino, chroot.st_ino);
  EXPECT_EQ(list_dir(proc + "/root/"),
            (std::vector<std::string>{"dev", "ember-static", "ember-static.pid", "run", "ticker.elf", "vm.json"}));
  EXPECT_FALSE(exists(proc + "/root" + host_file)) << host_file << " is visible in the jail";
  EXPECT_FALSE(exists(proc + "/root/etc")) << "the jail has an /etc";
  std::istringstream mounts(read_text(proc + "/mountinfo"));
  std::vector<std::string> mount_lines;
  for (std::string line; std::getline(mounts, line);) mount_lines.push_back(line);
  ASSERT_EQ(mount_lines.size(), 1u) << read_text(proc + "/mountinfo");
  EXPECT_NE(mount_lines[0].find(" " + root + " / "), std::string::npos) << mount_lines[0];

  // No environment, no inherited descriptors beyond stdio, the default open-file limit.
  EXPECT_EQ(read_text(proc + "/environ"), "");
  for (const std::string& fd : list_dir(proc + "/fd")) {
    if (fd == "0" || fd == "1" || fd == "2") continue;
    char target[4096] = {};
    if (::readlink((proc + "/fd/" + fd).c_str(), target, sizeof target - 1) <= 0) continue;
    const std::string t = target;
    EXPECT_TRUE(t.rfind("anon_inode:", 0) == 0 || t == "/dev/kvm") << "fd " << fd << " -> " << t;
  }
  EXPECT_NE(limits_line(pid, "Max open files").find("2048                 2048"), std::string::npos)
      << limits_line(pid, "Max open files");
}

TEST_F(JailerTest, CgroupV1SettingsAreWrittenAndEmberIsInThem) {
  const std::string id = new_id();
  prepare_root("ticker", id);
  JailerProcess jailer(jailer_argv(id, {"--cgroup", "cpu.shares=700", "--cgroup", "cpuset.cpus=0"}), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const pid_t pid = jailer.pid();
  const std::string own = read_text("/proc/" + std::to_string(pid) + "/cgroup");
  EXPECT_NE(own.find(":cpu:/" + parent_cgroup_ + "/" + id + "\n"), std::string::npos) << own;
  EXPECT_NE(own.find(":cpuset:/" + parent_cgroup_ + "/" + id + "\n"), std::string::npos) << own;
  EXPECT_EQ(trimmed(read_text(cgroup_dir("cpu", id) + "/cpu.shares")), "700");
  EXPECT_EQ(trimmed(read_text(cgroup_dir("cpuset", id) + "/cpuset.cpus")), "0");
  EXPECT_NE(read_text(cgroup_dir("cpu", id) + "/cgroup.procs").find(std::to_string(pid)), std::string::npos);
  EXPECT_EQ(proc_status_field(pid, "Cpus_allowed_list"), "0");
}

TEST_F(JailerTest, CgroupV2SettingIsWrittenAndEmberIsInIt) {
  ASSERT_FALSE(v2_mount_.empty()) << "this host mounts no cgroup2 hierarchy";
  const std::string id = new_id();
  prepare_root("ticker", id);
  // cgroup.max.descendants is a core file of every v2 cgroup; cpu.weight is added where the v2
  // hierarchy has the cpu controller (on hosts that bind it to v1 it does not).
  std::vector<std::string> flags = {"--cgroup-version", "2", "--cgroup", "cgroup.max.descendants=3"};
  const bool has_cpu = (" " + read_text(v2_mount_ + "/cgroup.controllers")).find(" cpu") != std::string::npos;
  if (has_cpu) flags.insert(flags.end(), {"--cgroup", "cpu.weight=70"});
  JailerProcess jailer(jailer_argv(id, flags), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const std::string own = read_text("/proc/" + std::to_string(jailer.pid()) + "/cgroup");
  EXPECT_NE(own.find("0::/" + parent_cgroup_ + "/" + id + "\n"), std::string::npos) << own;
  EXPECT_EQ(trimmed(read_text(cgroup_dir("", id) + "/cgroup.max.descendants")), "3");
  if (has_cpu) {
    EXPECT_EQ(trimmed(read_text(cgroup_dir("", id) + "/cpu.weight")), "70");
  }
}

TEST_F(JailerTest, EmberIsInTheGivenNetworkNamespace) {
  const std::string netns = make_netns();
  const std::string id = new_id();
  prepare_root("ticker", id);
  JailerProcess jailer(jailer_argv(id, {"--netns", netns}), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const struct stat wanted = stat_of(netns);
  const struct stat has = stat_of("/proc/" + std::to_string(jailer.pid()) + "/ns/net");
  const struct stat host = stat_of("/proc/self/ns/net");
  EXPECT_EQ(has.st_ino, wanted.st_ino);
  EXPECT_NE(has.st_ino, host.st_ino);
}

TEST_F(JailerTest, ResourceLimitsAreSetSoftAndHard) {
  const std::string id = new_id();
  prepare_root("ticker", id);
  JailerProcess jailer(
      jailer_argv(id, {"--resource-limit", "fsize=1048576", "--resource-limit", "no-file=256"}), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const std::string fsize = limits_line(jailer.pid(), "Max file size");
  const std::string files = limits_line(jailer.pid(), "Max open files");
  EXPECT_NE(fsize.find("1048576              1048576"), std::string::npos) << fsize;
  EXPECT_NE(files.find("256                  256"), std::string::npos) << files;
}

TEST_F(JailerTest, NewPidNamespaceMakesEmberPid1AndTheParentPassesItsStatus) {
  const std::string id = new_id();
  const std::string root = prepare_root("ticker", id);
  JailerProcess jailer(jailer_argv(id, {"--new-pid-ns"}), base_);
  ASSERT_TRUE(jailer.wait_for_output(kTicking, seconds(30))) << jailer.out() << jailer.err();
  const std::string pid_text = read_text(root + "/ember-static.pid");
  ASSERT_FALSE(pid_text.empty()) << "no pid file";
  const pid_t ember = std::stoi(pid_text);
  EXPECT_NE(ember, jailer.pid());
  EXPECT_EQ(proc_status_field(ember, "NSpid"), std::to_string(ember) + "\t1");
  EXPECT_EQ(proc_status_field(ember, "PPid"), std::to_string(jailer.pid()));
  EXPECT_EQ(proc_status_field(ember, "Uid"), uid_line(kJailUid));
  // The parent waits without privileges and passes signals on.
  EXPECT_EQ(proc_status_field(jailer.pid(), "Uid"), uid_line(kJailUid));
  ::kill(jailer.pid(), SIGTERM);
  auto r = jailer.wait(seconds(30));
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_NE(r.err.find("stopped by signal TERM"), std::string::npos) << r.err;
}

TEST_F(JailerTest, NewPidNamespaceHelloGuestEndsWithZero) {
  const std::string id = new_id();
  prepare_root("hello", id);
  auto r = run_process(jailer_argv(id, {"--new-pid-ns"}), seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos) << r.out << r.err;
}

TEST_F(JailerTest, DaemonizeStartsANewSessionWithStdioOnDevNull) {
  const std::string id = new_id();
  prepare_root("ticker", id);
  JailerProcess jailer(jailer_argv(id, {"--daemonize"}), base_);
  const pid_t pid = jailer.pid();
  // No output to wait for: wait until ember runs as the jail's uid with a vCPU.
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline &&
         !(proc_status_field(pid, "Uid") == uid_line(kJailUid) &&
           list_dir("/proc/" + std::to_string(pid) + "/task").size() >= 2))
    std::this_thread::sleep_for(milliseconds(20));
  ASSERT_EQ(proc_status_field(pid, "Uid"), uid_line(kJailUid)) << jailer.err();
  std::this_thread::sleep_for(milliseconds(500));
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state, ppid, pgrp, session;
  fields >> state >> ppid >> pgrp >> session;
  EXPECT_EQ(session, std::to_string(pid)) << "not a session leader: " << stat;
  for (const char* fd : {"0", "1", "2"}) {
    char target[4096] = {};
    ASSERT_GT(::readlink(("/proc/" + std::to_string(pid) + "/fd/" + fd).c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "/dev/null") << "fd " << fd;
  }
  EXPECT_EQ(jailer.out(), "");
  EXPECT_EQ(jailer.err(), "");
}

TEST_F(JailerTest, DaemonizeWithNewPidNamespaceLeavesEmberRunningAndExitsZero) {
  const std::string id = new_id();
  const std::string root = prepare_root("ticker", id);
  auto r = run_process(jailer_argv(id, {"--daemonize", "--new-pid-ns"}), seconds(30));
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string pid_text = read_text(root + "/ember-static.pid");
  ASSERT_FALSE(pid_text.empty()) << "no pid file";
  const pid_t ember = std::stoi(pid_text);
  EXPECT_TRUE(process_alive(ember));
  EXPECT_EQ(proc_status_field(ember, "NSpid"), std::to_string(ember) + "\t1");
  EXPECT_EQ(proc_status_field(ember, "Uid"), uid_line(kJailUid));
}

// ---- Bad input: a clear one-line refusal, the documented status, nothing left behind ----

void expect_refusal(const ProcessResult& r, int code, const std::string& needle) {
  EXPECT_FALSE(r.timed_out) << "the jailer hung";
  EXPECT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_NE(r.err.find("ember-jailer: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n" << r.err;
  EXPECT_EQ(r.out, "");
}

struct BadCase {
  const char* name;
  std::vector<std::string> flags;  // replaces or adds to the good command line
  int code;
  const char* message;
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class JailerBadInputTest : public JailerTest, public ::testing::WithParamInterface<BadCase> {};

// Replaces "--flag value" pairs of `argv` that `flags` names again, and appends the others
// before "--".
std::vector<std::string> with_flags(std::vector<std::string> argv, const std::vector<std::string>& flags) {
  auto dashes = std::find(argv.begin(), argv.end(), "--");
  std::vector<std::string> own(argv.begin(), dashes);
  std::vector<std::string> rest(dashes, argv.end());
  for (size_t i = 0; i < flags.size(); ++i) {
    const bool has_value = i + 1 < flags.size() && flags[i + 1].rfind("--", 0) != 0;
    auto it = std::find(own.begin(), own.end(), flags[i]);
    if (it != own.end() && has_value && flags[i] != "--cgroup" && flags[i] != "--resource-limit") {
      *(it + 1) = flags[i + 1];
    } else {
      own.push_back(flags[i]);
      if (has_value) own.push_back(flags[i + 1]);
    }
    if (has_value) ++i;
  }
  own.insert(own.end(), rest.begin(), rest.end());
  return own;
}

TEST_P(JailerBadInputTest, IsRefusedAndLeavesNothing) {
  const BadCase& c = GetParam();
  const std::string id = new_id();
  auto r = run_process(with_flags(jailer_argv(id, {}), c.flags), seconds(30));
  expect_refusal(r, c.code, c.message);
  expect_nothing_left(id);
}

const std::string kLongId(65, 'a');

INSTANTIATE_TEST_SUITE_P(
    Cases, JailerBadInputTest,
    ::testing::Values(
        BadCase{"IdWithUnderscore", {"--id", "bad_id"}, jailer::kExitUsage, "only letters, digits and '-'"},
        BadCase{"IdTooLong", {"--id", kLongId}, jailer::kExitUsage, "longer than 64"},
        BadCase{"MissingExecFile", {"--exec-file", "/nonexistent/ember"}, jailer::kExitUsage, "No such file"},
        BadCase{"DynamicallyLinkedExecFile", {"--exec-file", EMBER_BINARY}, jailer::kExitUsage, "dynamically linked"},
        BadCase{"UidNotANumber", {"--uid", "nobody"}, jailer::kExitUsage, "--uid"},
        BadCase{"UidMinusOne", {"--uid", "4294967295"}, jailer::kExitUsage, "out of range"},
        BadCase{"UnknownCgroupFile", {"--cgroup", "cpu.shares=700", "--cgroup", "cpu.bogus=1"},
                jailer::kExitSetupFailed, "has no file cpu.bogus"},
        BadCase{"CgroupValueRefused", {"--cgroup", "cpu.shares=lots"}, jailer::kExitSetupFailed, "Invalid argument"},
        BadCase{"CpusetOutOfRange", {"--cgroup", "cpu.shares=700", "--cgroup", "cpuset.cpus=4095"},
                jailer::kExitSetupFailed, "cpuset.cpus"},
        BadCase{"UnknownController", {"--cgroup", "nosuch.limit=1"}, jailer::kExitUsage, "no cgroup v1 hierarchy"},
        BadCase{"CgroupWithoutValue", {"--cgroup", "cpu.shares"}, jailer::kExitUsage, "expected <file>=<value>"},
        BadCase{"CgroupFileOutsideTheDirectory", {"--cgroup", "cpu.shares/../x=1"}, jailer::kExitUsage,
                "only letters, digits"},
        BadCase{"CgroupProcsIsTheJailersBusiness", {"--cgroup", "cgroup.procs=1"}, jailer::kExitUsage,
                "managed by the jailer"},
        BadCase{"CgroupVersionThree", {"--cgroup-version", "3"}, jailer::kExitUsage, "expected 1 or 2"},
        BadCase{"ParentCgroupEscapes", {"--parent-cgroup", "../escape"}, jailer::kExitUsage, "'..'"},
        BadCase{"UnknownResource", {"--resource-limit", "nproc=5"}, jailer::kExitUsage, "unknown resource"},
        BadCase{"NegativeLimit", {"--resource-limit", "fsize=-1"}, jailer::kExitUsage, "not a decimal number"},
        // Three open files are stdio: the cgroup step cannot open a file; the undo gets its
        // limits back first.
        BadCase{"NoFileTooSmallForTheSetup", {"--resource-limit", "no-file=3", "--cgroup", "cpu.shares=700"},
                jailer::kExitSetupFailed, "Too many open files"},
        BadCase{"NetnsNotANamespace", {"--netns", "/proc/self/status"}, jailer::kExitUsage,
                "not a network namespace"},
        BadCase{"NetnsMissing", {"--netns", "/var/run/netns/does-not-exist"}, jailer::kExitUsage, "No such file"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(JailerTest, MissingRequiredFlagIsRefused) {
  const std::string id = new_id();
  auto argv = jailer_argv(id, {});
  auto uid = std::find(argv.begin(), argv.end(), "--uid");
  argv.erase(uid, uid + 2);
  expect_refusal(run_process(argv, seconds(30)), jailer::kExitUsage, "--uid is required");
  expect_nothing_left(id);
}

TEST_F(JailerTest, IdAfterDashesIsRefused) {
  const std::string id = new_id();
  expect_refusal(run_process(jailer_argv(id, {}, {"--id", "other"}), seconds(30)), jailer::kExitUsage,
                 "the jailer passes --id");
  expect_nothing_left(id);
}

TEST_F(JailerTest, UidThatCannotBeTakenIsRefusedBeforeAnythingIsMade) {
  // In a user namespace that maps only root, no other uid exists to switch to.
  const std::string id = new_id();
  auto argv = jailer_argv(id, {"--cgroup", "cpu.shares=700"});
  argv.insert(argv.begin(), {"/usr/bin/unshare", "--user", "--map-root-user"});
  auto r = run_process(argv, seconds(30));
  expect_refusal(r, jailer::kExitUsage, "cannot switch to uid 12345");
  expect_nothing_left(id);
}

TEST_F(JailerTest, ChrootLeftByAnEarlierRunIsRefusedAndKept) {
  const std::string id = new_id();
  prepare_root("hello", id);
  auto first = run_process(jailer_argv(id, {}), seconds(60));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto before = list_dir(root_of(id));
  auto again = run_process(jailer_argv(id, {}), seconds(30));
  expect_refusal(again, jailer::kExitAlreadyExists, "holds an earlier jail");
  EXPECT_NE(again.err.find("remove " + instance_of(id) + " first"), std::string::npos) << again.err;
  EXPECT_EQ(list_dir(root_of(id)), before) << "the refused run changed the earlier jail";
}

TEST_F(JailerTest, CgroupLeftByAnEarlierRunIsRefusedAndKept) {
  const std::string id = new_id();
  ASSERT_TRUE(std::filesystem::create_directories(cgroup_dir("cpu", id)));
  auto r = run_process(jailer_argv(id, {"--cgroup", "cpu.shares=700"}), seconds(30));
  expect_refusal(r, jailer::kExitAlreadyExists, "already exists");
  EXPECT_TRUE(exists(cgroup_dir("cpu", id)));
  EXPECT_EQ(list_dir(base_), std::vector<std::string>{}) << "the refused run made a chroot";
}

// A tmpfs mounted noexec as the chroot base: everything up to the exec succeeds (chroot, cgroup,
// pivot_root, device nodes), then execve fails: the deepest undo, from inside the jail. Sized to
// hold the copy of the exec file (a static ember with debug info is tens of MiB) with room over.
class NoexecBase {
 public:
  explicit NoexecBase(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const uintmax_t mib = std::filesystem::file_size(EMBER_STATIC_BINARY) / (1 << 20) + 32;
    const std::string options = "size=" + std::to_string(mib) + "m";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOEXEC, options.c_str()) == 0;
  }
  ~NoexecBase() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST_F(JailerTest, ExecFailureInTheJailUndoesEverything) {
  for (const bool pid_ns : {false, true}) {
    SCOPED_TRACE(pid_ns ? "with --new-pid-ns" : "without --new-pid-ns");
    const std::string id = new_id();
    const std::string mount_point = base_ + "/noexec-" + id;
    NoexecBase noexec(mount_point);
    ASSERT_TRUE(noexec.mounted()) << "cannot mount a tmpfs";
    const std::string chroot_base = mount_point + "/jails";
    std::vector<std::string> flags = {"--chroot-base-dir", chroot_base, "--cgroup", "cpu.shares=500",
                                      "--cgroup", "cpuset.cpus=0"};
    if (pid_ns) flags.push_back("--new-pid-ns");
    auto r = run_process(with_flags(jailer_argv(id, {}), flags), seconds(30));
    expect_refusal(r, jailer::kExitExecFailed, "exec /ember-static in the jail: Permission denied");
    EXPECT_FALSE(exists(chroot_base)) << "the chroot base made by the run is left";
    expect_nothing_left(id, mount_point);
  }
}

}  // namespace
}  // namespace ember::test
