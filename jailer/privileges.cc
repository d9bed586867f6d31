#include "jailer/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/errno_error.h"

namespace ember::jailer {

namespace {

std::string ids(uint32_t uid, uint32_t gid) {
  return "uid " + std::to_string(uid) + " / gid " + std::to_string(gid);
}

}  // namespace

Result<void> switch_to(uint32_t uid, uint32_t gid, SavedIds saved) {
  const uid_t saved_uid = saved == SavedIds::kDrop ? uid : 0;
  const gid_t saved_gid = saved == SavedIds::kDrop ? gid : 0;
  if (::setgroups(0, nullptr) != 0) return errno_error("cannot switch to " + ids(uid, gid) + ": setgroups");
  if (::setresgid(gid, gid, saved_gid) != 0) return errno_error("cannot switch to " + ids(uid, gid) + ": setresgid");
  if (::setresuid(uid, uid, saved_uid) != 0) return errno_error("cannot switch to " + ids(uid, gid) + ": setresuid");
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&r, &e, &s) != 0 || ::getresgid(&rg, &eg, &sg) != 0 || r != uid || e != uid ||
      s != saved_uid || rg != gid || eg != gid || sg != saved_gid)
    return make_error("cannot switch to " + ids(uid, gid) + ": the ids did not change as asked");
  return {};
}

Result<void> return_to_root() {
  if (::setresuid(0, 0, 0) != 0) return errno_error("cannot return to uid 0");
  if (::setresgid(0, 0, 0) != 0) return errno_error("cannot return to gid 0");
  return {};
}

Result<void> probe_switch(uint32_t uid, uint32_t gid) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  const pid_t child = ::fork();
  if (child < 0) {
    Error e = errno_error("fork");
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return e;
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto result = switch_to(uid, gid, SavedIds::kDrop);
    if (!result) {
      const std::string& m = result.error().message;
      (void)!::write(pipe_fds[1], m.data(), m.size());
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (message.empty()) message = "cannot switch to " + ids(uid, gid) + " (the probe process failed)";
  return make_error(message);
}

}  // namespace ember::jailer
