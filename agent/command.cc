#include "agent/command.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ember::agent {
namespace {

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

ErrorReport error_report(int err, const std::string& what) { return ErrorReport{err, what + ": " + std::strerror(err)}; }

// Owns a posix_spawn attribute/file-actions object for its lifetime.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::vector<std::string> merge_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& overrides) {
  std::vector<std::string> out = base;
  for (const auto& entry : overrides) {
    const std::string name = env_name(entry);
    bool replaced = false;
    for (auto& existing : out) {
      if (env_name(existing) == name) {
        existing = entry;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(entry);
  }
  return out;
}

std::string find_program(const std::string& name, const std::string& path_list, int* error_number) {
  *error_number = 0;
  if (name.find('/') != std::string::npos) return name;
  bool saw_unexecutable = false;
  size_t begin = 0;
  for (;;) {
    const size_t end = path_list.find(':', begin);
    const std::string_view dir =
        std::string_view(path_list).substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    // An empty PATH entry means the current directory.
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate.append("/").append(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      saw_unexecutable = true;
    }
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  *error_number = saw_unexecutable ? EACCES : ENOENT;
  return {};
}

std::variant<RunningCommand, ErrorReport> spawn_command(const ExecRequest& request,
                                                        const std::vector<std::string>& base_env) {
  std::vector<std::string> env = merge_environment(base_env, request.env);
  std::string path_list;
  for (const auto& e : env)
    if (env_name(e) == "PATH") path_list = e.substr(5);

  const std::string& name = request.argv[0];
  int err = 0;
  const std::string program = find_program(name, path_list, &err);
  if (err == ENOENT) return ErrorReport{ENOENT, "command not found: " + name};
  if (err != 0) return error_report(err, name);
  const std::string cwd = request.cwd.empty() ? "/" : request.cwd;
  // Checked here for a clear message: posix_spawn reports a failed chdir and a failed exec
  // with the same errno.
  struct stat st {};
  if (::stat(cwd.c_str(), &st) != 0) return error_report(errno, "working directory " + cwd);
  if (!S_ISDIR(st.st_mode)) return error_report(ENOTDIR, "working directory " + cwd);

  int in[2], out[2], errp[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return error_report(errno, "pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return error_report(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return error_report(errno, "pipe");
  UniqueFd err_r(errp[0]), err_w(errp[1]);

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err_w.get(), 2);
  posix_spawn_file_actions_addchdir_np(&setup.actions, cwd.c_str());
  // A session of its own (SIGNAL reaches everything it starts), no signal blocked, and every
  // signal at its default: the agent ignores SIGPIPE, which a command must not inherit.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_copy = request.argv;
  auto argv = c_array(argv_copy);
  auto envp = c_array(env);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    if (rc == ENOENT && program != name) return ErrorReport{ENOENT, program + ": " + std::strerror(rc) + " (a missing interpreter?)"};
    if (rc == ENOENT) return ErrorReport{ENOENT, "command not found: " + name};
    return error_report(rc, "cannot run " + program);
  }

  RunningCommand cmd;
  cmd.pid = pid;
  // Opened before anyone reaps the child, so it names this process even if it already ended.
  // (By number: glibc 2.36's <sys/pidfd.h> declares pidfd_open without C linkage.)
  cmd.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!cmd.pidfd.valid()) {
    const int e = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return error_report(e, "pidfd_open");
  }
  for (int fd : {in_w.get(), out_r.get(), err_r.get()}) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
  cmd.stdin_pipe = std::move(in_w);
  cmd.stdout_pipe = std::move(out_r);
  cmd.stderr_pipe = std::move(err_r);
  return cmd;
}

}  // namespace ember::agent
