#include "emberctl/ember_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <deque>
#include <utility>

#include "base/errno_error.h"

namespace ember::ctl {
namespace {

int decode_status(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return -WTERMSIG(wstatus);
  return 255;
}

}  // namespace

Result<EmberProcess> EmberProcess::spawn(const EmberLaunch& launch) {
  if (::access(launch.binary.c_str(), X_OK) != 0) return errno_error("ember binary " + launch.binary);
  std::vector<std::string> args = {launch.binary, "--api-sock", launch.api_socket, "--id", launch.id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd console(::open(launch.console_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd log(::open(launch.ember_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!devnull.valid() || !console.valid() || !log.valid()) return errno_error("opening ember's console and log files");
  // The exec's errno comes back through this pipe; a successful exec closes it (O_CLOEXEC).
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // emberctl already died
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    ::dup2(devnull.get(), 0);
    ::dup2(console.get(), 1);
    ::dup2(log.get(), 2);
    ::execv(argv[0], argv.data());
    const int err = errno;
    (void)!::write(report_w.get(), &err, sizeof err);
    ::_exit(127);
  }
  report_w.reset();
  int err = 0;
  ssize_t n;
  do {
    n = ::read(report_r.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    ::waitpid(pid, nullptr, 0);
    return make_error("cannot run " + launch.binary + ": " + std::strerror(err));
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    const Error e = errno_error("pidfd_open");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return e;
  }
  return EmberProcess(pid, std::move(pidfd));
}

EmberProcess::EmberProcess(EmberProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(o.status_) {}

EmberProcess::~EmberProcess() {
  if (pid_ > 0) stop();
}

std::optional<int> EmberProcess::poll_exit() {
  if (status_ || pid_ <= 0) return status_;
  int wstatus = 0;
  const pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) status_ = decode_status(wstatus);
  return status_;
}

int EmberProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(255);
  if (!poll_exit()) {
    ::kill(pid_, SIGTERM);
    pollfd p{pidfd_.get(), POLLIN, 0};
    const auto until = std::chrono::steady_clock::now() + grace;
    while (!poll_exit()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      // EINTR (a second Ctrl-C) just goes round again.
      (void)::poll(&p, 1, static_cast<int>(left.count()));
    }
    if (!poll_exit()) {
      ::kill(pid_, SIGKILL);
      int wstatus = 0;
      while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
      }
      status_ = decode_status(wstatus);
    }
  }
  pid_ = -1;
  pidfd_.reset();
  return *status_;
}

std::string EmberProcess::describe(int status) {
  if (status >= 0) return "exit status " + std::to_string(status);
  const char* name = sigabbrev_np(-status);
  return "killed by signal " + (name != nullptr ? std::string("SIG") + name : std::to_string(-status));
}

std::string tail_of_file(const std::string& path, size_t lines) {
  std::ifstream in(path);
  if (!in) return {};
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

}  // namespace ember::ctl
