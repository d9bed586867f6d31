#include "tests/jailer/jail_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "jailer/cgroup_plan.h"

namespace ember::test {

namespace {

std::string quiet_run(const std::string& command) {
  const int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return rc == 0 ? "" : command + " failed (" + std::to_string(rc) + ")";
}

// Waits until `pid` (not necessarily our child) is gone, up to `timeout`.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_alive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !process_alive(pid);
}

}  // namespace

JailerProcess::JailerProcess(const std::vector<std::string>& argv, const std::string& out_dir) {
  static int counter = 0;
  const std::string stem = out_dir + "/jailer-" + std::to_string(counter++);
  out_path_ = stem + ".out";
  err_path_ = stem + ".err";
  pid_ = ::fork();
  if (pid_ == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid_ < 0) ADD_FAILURE() << "fork failed";
}

JailerProcess::~JailerProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string JailerProcess::out() const { return read_text(out_path_); }
std::string JailerProcess::err() const { return read_text(err_path_); }

bool JailerProcess::exited() {
  if (status_) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return status_.has_value();
}

bool JailerProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool in_stderr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if ((in_stderr ? err() : out()).find(needle) != std::string::npos) return true;
    if (exited() || std::chrono::steady_clock::now() >= deadline)
      return (in_stderr ? err() : out()).find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ProcessResult JailerProcess::wait(std::chrono::milliseconds timeout) {
  ProcessResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!exited()) {
    r.timed_out = true;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
  }
  if (WIFEXITED(*status_)) r.exit_code = WEXITSTATUS(*status_);
  if (WIFSIGNALED(*status_)) r.signal = WTERMSIG(*status_);
  r.out = out();
  r.err = err();
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string proc_status_field(pid_t pid, const std::string& key) {
  std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      const size_t start = value.find_first_not_of(" \t");
      return start == std::string::npos ? "" : value.substr(start);
    }
  }
  return "";
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool process_alive(pid_t pid) {
  // A zombie still has a /proc entry: look at its state.
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

void JailerTest::SetUp() {
  ASSERT_EQ(::geteuid(), 0u) << "the jailer tests need root: they make chroots, device nodes, cgroups and "
                                "namespaces (run them as root, as CI does)";
  require_kvm();
  base_dir_ = std::make_unique<TempDir>();
  base_ = base_dir_->path();
  parent_cgroup_ = "ember-jailer-test-" + std::to_string(::getpid());
  const auto mounts = jailer::find_cgroup_mounts(jailer::parse_mounts(read_text("/proc/mounts")));
  v1_mounts_ = mounts.v1;
  v2_mount_ = mounts.v2;
}

namespace {

// Processes whose command line holds "--id <one of ids>": the jailers and the embers they made,
// wherever they ended up (a failed assertion may have skipped the test's own cleanup).
std::vector<pid_t> processes_of(const std::vector<std::string>& ids) {
  std::vector<pid_t> found;
  for (const std::string& entry : list_dir("/proc")) {
    if (entry.empty() || entry.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = read_text("/proc/" + entry + "/cmdline");
    for (const std::string& id : ids) {
      if (cmdline.find(std::string("--id\0", 5) + id + '\0') != std::string::npos) {
        found.push_back(static_cast<pid_t>(std::stoi(entry)));
        break;
      }
    }
  }
  return found;
}

}  // namespace

void JailerTest::TearDown() {
  // Ids are unique to this test process, so this kills nothing else; pids alone could have been
  // reused by the time of the teardown.
  for (pid_t pid : processes_of(ids_)) {
    ::kill(pid, SIGKILL);
    EXPECT_TRUE(wait_gone(pid, std::chrono::seconds(10))) << "pid " << pid << " did not go away";
  }
  // Every hierarchy: the ids' directories, then the parent (only if now empty).
  std::set<std::string> roots;
  for (const auto& [controller, mount] : v1_mounts_) roots.insert(mount);
  if (!v2_mount_.empty()) roots.insert(v2_mount_);
  for (const std::string& root : roots) {
    const std::string parent = root + "/" + parent_cgroup_;
    if (!exists(parent)) continue;
    for (const std::string& id : ids_) {
      const std::string dir = parent + "/" + id;
      // A process that was just killed may take a moment to leave its cgroup.
      for (int i = 0; i < 200 && exists(dir) && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::rmdir(parent.c_str());
  }
  for (const std::string& name : netns_) {
    const std::string failed = quiet_run("ip netns delete " + name);
    EXPECT_TRUE(failed.empty()) << failed;
  }
  base_dir_.reset();
}

std::string JailerTest::new_id() {
  const std::string id = "jt-" + std::to_string(::getpid()) + "-" + std::to_string(ids_.size());
  ids_.push_back(id);
  return id;
}

std::string JailerTest::instance_of(const std::string& id) const { return base_ + "/ember-static/" + id; }
std::string JailerTest::root_of(const std::string& id) const { return instance_of(id) + "/root"; }

std::string JailerTest::prepare_root(const std::string& guest, const std::string& id) {
  const std::string root = root_of(id);
  std::filesystem::create_directories(root);
  std::filesystem::copy_file(guest_path(guest), root + "/" + guest + ".elf");
  std::ofstream(root + "/vm.json") << vm_json("/" + guest + ".elf", 1, 64);
  return root;
}

std::vector<std::string> JailerTest::jailer_argv(const std::string& id, const std::vector<std::string>& flags,
                                                 const std::vector<std::string>& ember_args) const {
  std::vector<std::string> argv = {EMBER_JAILER_BINARY, "--id", id, "--exec-file", EMBER_STATIC_BINARY,
                                   "--uid", std::to_string(kJailUid), "--gid", std::to_string(kJailGid),
                                   "--chroot-base-dir", base_, "--parent-cgroup", parent_cgroup_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), ember_args.begin(), ember_args.end());
  return argv;
}

std::string JailerTest::cgroup_dir(const std::string& controller, const std::string& id) const {
  std::string root;
  if (controller.empty()) {
    root = v2_mount_;
  } else {
    auto it = v1_mounts_.find(controller);
    root = it == v1_mounts_.end() ? "/nonexistent-" + controller : it->second;
  }
  return root + "/" + parent_cgroup_ + (id.empty() ? "" : "/" + id);
}

std::string JailerTest::make_netns() {
  const std::string name = "ember-jt-" + std::to_string(::getpid()) + "-" + std::to_string(netns_.size());
  const std::string failed = quiet_run("ip netns add " + name);
  EXPECT_TRUE(failed.empty()) << failed;
  netns_.push_back(name);
  return "/var/run/netns/" + name;
}

void JailerTest::expect_nothing_left(const std::string& id, const std::string& base) const {
  const std::string b = base.empty() ? base_ : base;
  EXPECT_EQ(list_dir(b), std::vector<std::string>{}) << "the refused run left files under " << b;
  std::set<std::string> roots;
  for (const auto& [controller, mount] : v1_mounts_) roots.insert(mount);
  if (!v2_mount_.empty()) roots.insert(v2_mount_);
  for (const std::string& root : roots) {
    EXPECT_FALSE(exists(root + "/" + parent_cgroup_ + "/" + id)) << "cgroup of " << id << " left in " << root;
    EXPECT_FALSE(exists(root + "/" + parent_cgroup_)) << "parent cgroup left in " << root;
  }
}

}  // namespace ember::test
