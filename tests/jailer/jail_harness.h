// What the jailer's root tests share: a fixture that gives each test its own chroot base, ids and
// parent cgroup and removes every trace afterwards (processes of its ids included, wherever they
// ended up), a jailer process to watch from outside, and readers for /proc/<pid>.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/kvm/ember_process.h"

namespace ember::test {

inline constexpr uint32_t kJailUid = 12345;
inline constexpr uint32_t kJailGid = 12346;

// The jailer started in the background with stdout and stderr going to files.
class JailerProcess {
 public:
  JailerProcess(const std::vector<std::string>& argv, const std::string& out_dir);
  ~JailerProcess();  // kills and reaps the process if it still runs
  JailerProcess(const JailerProcess&) = delete;
  JailerProcess& operator=(const JailerProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;
  // Polls stdout (or stderr) for `needle`; false on timeout or when the process has ended.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool in_stderr = false);
  // Waits for the exit (kills it after the timeout) and returns its status.
  ProcessResult wait(std::chrono::milliseconds timeout);
  [[nodiscard]] bool exited();

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
  std::optional<int> status_;
};

// One line of /proc/<pid>/status ("Uid", "Groups", ...) without the key; empty if absent.
std::string proc_status_field(pid_t pid, const std::string& key);
std::string read_text(const std::string& path);
std::vector<std::string> list_dir(const std::string& path);  // sorted names
bool exists(const std::string& path);
bool process_alive(pid_t pid);

class JailerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // <base>/ember-static/<id>/root, made beforehand as the operator would, holding the guest
  // (as /<guest>.elf) and /vm.json that boots it.
  std::string prepare_root(const std::string& guest, const std::string& id);
  std::string root_of(const std::string& id) const;
  std::string instance_of(const std::string& id) const;
  // The jailer's argv: the ember-static exec file, uid/gid, chroot base, parent cgroup, `flags`,
  // then "--" and ember's --no-api --config-file /vm.json.
  std::vector<std::string> jailer_argv(
      const std::string& id, const std::vector<std::string>& flags,
      const std::vector<std::string>& ember_args = {"--no-api", "--config-file", "/vm.json"}) const;
  // A fresh id for this test (several runs of a test may need several).
  std::string new_id();
  // <mount>/<parent cgroup>[/<id>] for a v1 controller or (controller "") the v2 hierarchy.
  std::string cgroup_dir(const std::string& controller, const std::string& id = "") const;
  // A network namespace (ip netns add) deleted in TearDown; returns its file.
  std::string make_netns();

  // Asserts that a refused run left nothing: no instance directory (and nothing else) under the
  // chroot base, no cgroup directory of `id` or of the test's parent cgroup.
  void expect_nothing_left(const std::string& id, const std::string& base = "") const;

  std::unique_ptr<TempDir> base_dir_;
  std::string base_;            // chroot base
  std::string parent_cgroup_;   // --parent-cgroup of every run
  std::map<std::string, std::string> v1_mounts_;  // controller -> mount point
  std::string v2_mount_;

 private:
  std::vector<std::string> ids_;
  std::vector<std::string> netns_;
};

}  // namespace ember::test
