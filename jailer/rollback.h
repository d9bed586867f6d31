// What a jailer run has set up so far, undone in reverse order when a later step fails, so that a
// refused jail leaves nothing half made: no chroot directory, no cgroup directory.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember::jailer {

class Rollback {
 public:
  // Failures while undoing are reported here, one message each (default: a line on stderr).
  using Reporter = std::function<void(const std::string&)>;

  Rollback();
  explicit Rollback(Reporter reporter);
  ~Rollback();  // undo(), unless dismiss() was called
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;

  // A directory this run created, removed with all it holds.
  void remove_tree(std::string dir);
  // A directory this run created that other runs may share by now (the chroot base, the
  // <base>/<exec> level, a parent cgroup): removed only if empty.
  void remove_if_empty(std::string dir);
  // A file this run created.
  void remove_file(std::string path);
  // A directory that existed (empty) before this run: what this run put in it is removed, the
  // directory stays.
  void empty_directory(std::string dir);
  // A cgroup directory this run created (rmdir: cgroup directories go only that way).
  void remove_cgroup(std::string dir);
  // The process joined a cgroup: before the directories go it moves back, by writing its pid to
  // this cgroup.procs file of the cgroup it came from.
  void return_to_cgroup(std::string procs_file);
  // The process is about to leave this mount namespace: undo() returns to it before any other
  // step, so that every recorded path means what it meant on the host.
  void return_to_mount_namespace(UniqueFd ns);
  // Process-wide state this run changed that the other steps may need back (rlimits: a tiny
  // no-file limit would stop the undo from opening files): undone right after the return to the
  // host's mount namespace, before the other steps.
  void restore_process_state(std::function<Result<void>()> step);
  // Ownership and mode of an existing path that this run changed.
  void restore_owner(std::string path, uid_t uid, gid_t gid, mode_t mode);

  // Returns to the recorded mount namespace, restores the process state, then runs every other
  // step, newest first; later calls do nothing.
  void undo();
  // Keeps everything: the jail is in use.
  void dismiss();

 private:
  void add(std::function<Result<void>()> step);
  Reporter reporter_;
  std::vector<std::function<Result<void>()>> process_state_;
  std::vector<std::function<Result<void>()>> steps_;
  UniqueFd host_mount_namespace_;
  bool done_ = false;
};

}  // namespace ember::jailer
