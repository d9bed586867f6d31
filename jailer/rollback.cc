#include "jailer/rollback.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/errno_error.h"

namespace ember::jailer {

Rollback::Rollback()
    : reporter_([](const std::string& m) { std::fprintf(stderr, "ember-jailer: cleanup: %s\n", m.c_str()); }) {}

Rollback::Rollback(Reporter reporter) : reporter_(std::move(reporter)) {}

Rollback::~Rollback() { undo(); }

void Rollback::add(std::function<Result<void>()> step) { steps_.push_back(std::move(step)); }

void Rollback::empty_directory(std::string dir) {
  add([dir = std::move(dir)]() -> Result<void> {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::filesystem::remove_all(it->path(), ec);
      if (ec) return make_error("cannot remove " + it->path().string() + ": " + ec.message());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) return make_error("cannot empty " + dir + ": " + ec.message());
    return {};
  });
}

void Rollback::remove_tree(std::string dir) {
  add([dir = std::move(dir)]() -> Result<void> {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return make_error("cannot remove " + dir + ": " + ec.message());
    return {};
  });
}

void Rollback::remove_if_empty(std::string dir) {
  add([dir = std::move(dir)]() -> Result<void> {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST || errno == EBUSY)
      return {};
    return errno_error("cannot remove " + dir);
  });
}

void Rollback::remove_file(std::string path) {
  add([path = std::move(path)]() -> Result<void> {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) return {};
    return errno_error("cannot remove " + path);
  });
}

void Rollback::remove_cgroup(std::string dir) {
  add([dir = std::move(dir)]() -> Result<void> {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    return errno_error("cannot remove cgroup " + dir);
  });
}

void Rollback::return_to_cgroup(std::string procs_file) {
  add([procs_file = std::move(procs_file)]() -> Result<void> {
    const int fd = ::open(procs_file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot return to cgroup " + procs_file);
    const std::string pid = std::to_string(::getpid());
    const ssize_t n = ::write(fd, pid.data(), pid.size());
    Result<void> result;
    if (n != static_cast<ssize_t>(pid.size())) result = errno_error("cannot return to cgroup " + procs_file);
    ::close(fd);
    return result;
  });
}

void Rollback::return_to_mount_namespace(UniqueFd ns) {
  // The first one recorded is the host's; later ones would be nested jails, which do not exist.
  if (!host_mount_namespace_.valid()) host_mount_namespace_ = std::move(ns);
}

void Rollback::restore_process_state(std::function<Result<void>()> step) {
  process_state_.push_back(std::move(step));
}

void Rollback::restore_owner(std::string path, uid_t uid, gid_t gid, mode_t mode) {
  add([path = std::move(path), uid, gid, mode]() -> Result<void> {
    if (::chown(path.c_str(), uid, gid) != 0 && errno != ENOENT) return errno_error("cannot chown " + path);
    if (::chmod(path.c_str(), mode) != 0 && errno != ENOENT) return errno_error("cannot chmod " + path);
    return {};
  });
}

void Rollback::undo() {
  if (done_) return;
  done_ = true;
  // setns() also moves the root and working directory to that namespace's root.
  if (host_mount_namespace_.valid() && ::setns(host_mount_namespace_.get(), CLONE_NEWNS) != 0)
    reporter_(errno_error("cannot return to the host's mount namespace").message);
  for (auto it = process_state_.rbegin(); it != process_state_.rend(); ++it) {
    auto result = (*it)();
    if (!result) reporter_(result.error().message);
  }
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    auto result = (*it)();
    if (!result) reporter_(result.error().message);
  }
  steps_.clear();
  process_state_.clear();
  host_mount_namespace_.reset();
}

void Rollback::dismiss() {
  done_ = true;
  steps_.clear();
  process_state_.clear();
  host_mount_namespace_.reset();
}

}  // namespace ember::jailer
