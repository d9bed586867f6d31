#include "tests/kvm/ember_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ember::test {

namespace {

// Starts argv[0] with stdin from /dev/null and stdout/stderr into pipes; -1 on failure.
pid_t spawn(const std::vector<std::string>& argv, int* out_fd, int* err_fd) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  *out_fd = out_pipe[0];
  *err_fd = err_pipe[0];
  return pid;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const OutputPredicate& until, int stop_signal) {
  ProcessResult result;
  int out_fd = -1;
  int err_fd = -1;
  const pid_t pid = spawn(argv, &out_fd, &err_fd);
  if (pid < 0) return result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  bool signalled = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
    }
    if (!signalled && until && until(result.out, result.err)) {
      result.stopped_early = true;
      signalled = true;
      kill(pid, stop_signal);
      // SIGKILL ends the run now; another signal lets the child exit by itself, and we keep
      // reading its output until it closes its end or the deadline passes.
      if (stop_signal == SIGKILL) break;
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (result.timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

struct BackgroundProcess::Shared {
  std::mutex lock;
  std::condition_variable changed;
  std::string out;
  std::string err;
  bool eof = false;
  std::thread thread;
};

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv) : shared_(std::make_unique<Shared>()) {
  pid_ = spawn(argv, &out_fd_, &err_fd_);
  if (pid_ < 0) return;
  shared_->thread = std::thread([this] { reader(); });
}

void BackgroundProcess::reader() {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::lock_guard<std::mutex> g(shared_->lock);
      (i == 0 ? shared_->out : shared_->err).append(buf, static_cast<size_t>(n));
      shared_->changed.notify_all();
    }
  }
  std::lock_guard<std::mutex> g(shared_->lock);
  shared_->eof = true;
  shared_->changed.notify_all();
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (shared_->thread.joinable()) shared_->thread.join();
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool BackgroundProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool in_stderr) {
  std::unique_lock<std::mutex> g(shared_->lock);
  return shared_->changed.wait_for(g, timeout, [&] {
    return (in_stderr ? shared_->err : shared_->out).find(needle) != std::string::npos || shared_->eof;
  }) && (in_stderr ? shared_->err : shared_->out).find(needle) != std::string::npos;
}

std::string BackgroundProcess::out() {
  std::lock_guard<std::mutex> g(shared_->lock);
  return shared_->out;
}

std::string BackgroundProcess::err() {
  std::lock_guard<std::mutex> g(shared_->lock);
  return shared_->err;
}

void BackgroundProcess::send_signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

ProcessResult BackgroundProcess::wait(std::chrono::milliseconds timeout) {
  ProcessResult r;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool reaped = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped = true;
      break;
    }
    usleep(5000);
  }
  if (!reaped) {
    r.timed_out = true;
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (shared_->thread.joinable()) shared_->thread.join();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = out();
  r.err = err();
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ember-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

ProcessResult run_ember(const std::string& config_json, std::chrono::seconds timeout,
                        const std::vector<std::string>& extra_args, const OutputPredicate& until,
                        int stop_signal) {
  TempDir dir;
  std::string cfg = dir.write("vm.json", config_json);
  std::vector<std::string> argv = {EMBER_BINARY, "--no-api", "--config-file", cfg};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return run_process(argv, timeout, until, stop_signal);
}

std::string vm_json(const std::string& kernel, int vcpus, int mem_mib, const std::string& boot_args) {
  return R"({"boot-source": {"kernel_image_path": ")" + kernel + R"(", "boot_args": ")" + boot_args +
         R"("}, "machine-config": {"vcpu_count": )" + std::to_string(vcpus) +
         R"(, "mem_size_mib": )" + std::to_string(mem_mib) + "}}";
}

std::string guest_path(const std::string& name) { return std::string(EMBER_GUEST_DIR) + "/" + name + ".elf"; }

void require_kvm() {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "these tests need a usable /dev/kvm (open failed: " << strerror(errno) << ")";
  close(fd);
}

std::string read_file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ember::test
