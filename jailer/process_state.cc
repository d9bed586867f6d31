#include "jailer/process_state.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <vector>

#include "base/errno_error.h"

namespace ember::jailer {

Result<void> close_inherited_fds() {
  if (::close_range(3, ~0U, 0) == 0) return {};
  if (errno != ENOSYS && errno != EINVAL) return errno_error("close_range");
  // Older kernels: collect the numbers first, closing while reading the directory would close it.
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return errno_error("cannot list /proc/self/fd");
  std::vector<int> fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && fd > 2 && fd != own) fds.push_back(static_cast<int>(fd));
  }
  ::closedir(dir);
  for (int fd : fds) ::close(fd);
  return {};
}

void clear_environment() { ::clearenv(); }

void reset_signals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for the numbers glibc reserves
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

Result<void> daemonize(int dev_null) {
  if (::setsid() < 0) return errno_error("--daemonize: setsid (is the jailer a process group leader?)");
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(dev_null, fd) < 0) return errno_error("--daemonize: dup2 /dev/null");
  }
  return {};
}

}  // namespace ember::jailer
