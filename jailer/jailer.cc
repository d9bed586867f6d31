#include "jailer/jailer.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "jailer/cgroup_setup.h"
#include "jailer/chroot.h"
#include "jailer/exec_file.h"
#include "jailer/exit_codes.h"
#include "jailer/fs_util.h"
#include "jailer/paths.h"
#include "jailer/privileges.h"
#include "jailer/process_state.h"
#include "jailer/resource_limits.h"
#include "jailer/rollback.h"
#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::jailer {

namespace {

constexpr size_t kMaxProcFileSize = 4 << 20;

void report(const std::string& message) { std::fprintf(stderr, "ember-jailer: %s\n", message.c_str()); }

// What validation learned. Nothing on the host has changed yet.
struct Plan {
  std::string exec_file;  // canonical path on the host
  JailPaths paths;
  CgroupPlan cgroups;
  std::string proc_self_cgroup;  // before joining: the way back
  std::vector<DeviceNode> devices;
  UniqueFd netns;
  // The chroot's `dev` and `run` when they existed, empty, before this run (Kata Containers makes
  // <chroot>/run before it calls the jailer), with their owner and mode for an undo.
  struct PreparedDirectory {
    std::string path;
    uid_t uid;
    gid_t gid;
    mode_t mode;
  };
  std::vector<PreparedDirectory> prepared_directories;
};

Result<std::string> real_path(const std::string& path, const std::string& flag) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return errno_error(flag + " " + path);
  std::string out(resolved);
  std::free(resolved);
  return out;
}

Result<std::string> chroot_base_path(const std::string& given) {
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return errno_error("getcwd");
  std::string base = normalize_absolute(given, cwd);
  if (!path_exists(base)) return base;  // made (and undone if need be) by this run
  ASSIGN_OR_RETURN(base, real_path(base, "--chroot-base-dir"));
  struct stat st {};
  if (::stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error("--chroot-base-dir " + given + " is not a directory");
  return base;
}

Result<UniqueFd> open_netns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("--netns " + path);
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET)
    return make_error("--netns " + path +
                      " is not a network namespace (expected e.g. /var/run/netns/NAME from `ip netns add NAME`)");
  return fd;
}

Result<Plan> validate(const JailerArgs& a) {
  Plan plan;
  ASSIGN_OR_RETURN(plan.exec_file, real_path(a.exec_file, "--exec-file"));
  if (auto exec = check_exec_file(plan.exec_file); !exec) return with_context("--exec-file", exec.error());
  // The jail and the copy are named as the caller named the program, not after a symlink's
  // target: a `firecracker` symlink to ember-static makes <base>/firecracker/<id>/root and execs
  // /firecracker there (ember then takes Firecracker's defaults), which is where Kata
  // Containers looks (<base>/<basename of its hypervisor path>/<id>/root/run/firecracker.socket).
  ASSIGN_OR_RETURN(const std::string exec_name, file_name_of(a.exec_file));
  ASSIGN_OR_RETURN(const std::string base, chroot_base_path(a.chroot_base));
  ASSIGN_OR_RETURN(plan.paths, build_jail_paths(base, exec_name, a.id));
  if (a.netns) {
    ASSIGN_OR_RETURN(plan.netns, open_netns(*a.netns));
  }
  if (!a.cgroups.empty()) {
    ASSIGN_OR_RETURN(const std::string mounts_text, read_text_file("/proc/mounts", kMaxProcFileSize));
    const CgroupMounts mounts = find_cgroup_mounts(parse_mounts(mounts_text));
    std::string v2_controllers;
    if (a.cgroup_version == CgroupVersion::kV2 && !mounts.v2.empty()) {
      ASSIGN_OR_RETURN(v2_controllers, read_text_file(mounts.v2 + "/cgroup.controllers", kMaxProcFileSize));
    }
    ASSIGN_OR_RETURN(plan.cgroups, plan_cgroups(a.cgroup_version, mounts, v2_controllers, a.cgroups,
                                                a.parent_cgroup.value_or(exec_name), a.id));
    ASSIGN_OR_RETURN(plan.proc_self_cgroup, read_text_file("/proc/self/cgroup", kMaxProcFileSize));
  }
  ASSIGN_OR_RETURN(plan.devices, host_device_nodes());
  // Without a fork before it, setsid() fails in a process group leader (setsid(2)).
  if (a.daemonize && !a.new_pid_ns && ::getpgrp() == ::getpid())
    return make_error("--daemonize: the jailer is a process group leader, so setsid() would fail; start it from "
                      "a process that is not, or add --new-pid-ns");
  if (auto probe = probe_switch(a.uid, a.gid); !probe) return with_context("--uid/--gid", probe.error());
  return plan;
}

Error earlier_jail(const JailPaths& p, const std::string& trace, const std::string& what) {
  return make_error("the chroot " + p.chroot_dir + " holds an earlier jail (" + trace + " " + what + "): remove " +
                    p.instance_dir + " first");
}

// Traces of an earlier jail in an existing chroot (an operator may prepare the chroot with the
// kernel and images beforehand, but not reuse a jail). Empty `dev` and `run` directories are no
// trace: launchers make them beforehand (Kata Containers creates <chroot>/run, then waits for
// run/firecracker.socket), and Firecracker's jailer takes existing directories as they are.
Result<void> check_no_earlier_jail(Plan& plan) {
  const JailPaths& p = plan.paths;
  for (const std::string& trace : {p.exec_on_host, p.chroot_dir + p.pid_file_in_jail, p.chroot_dir + "/old_root"}) {
    if (path_exists(trace)) return earlier_jail(p, trace, "exists");
  }
  plan.prepared_directories.clear();
  for (const std::string& dir : {p.chroot_dir + "/dev", p.chroot_dir + "/run"}) {
    if (!path_exists(dir)) continue;
    struct stat st {};
    if (!is_empty_directory(dir) || ::lstat(dir.c_str(), &st) != 0)
      return earlier_jail(p, dir, "exists and is not an empty directory");
    plan.prepared_directories.push_back({dir, st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 07777)});
  }
  return check_cgroups_absent(plan.cgroups);
}

bool was_prepared(const Plan& plan, const std::string& dir) {
  for (const auto& prepared : plan.prepared_directories) {
    if (prepared.path == dir) return true;
  }
  return false;
}

bool is_within(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

Result<void> build_chroot(const Plan& plan, Rollback* rollback) {
  const JailPaths& p = plan.paths;
  ASSIGN_OR_RETURN(const auto created, make_directories(p.chroot_dir, 0755));
  for (const std::string& dir : created) {
    // The instance directory and below belong to this run alone; the levels above may be shared
    // with other jails by the time of an undo.
    if (is_within(dir, p.instance_dir)) {
      rollback->remove_tree(dir);
    } else {
      rollback->remove_if_empty(dir);
    }
  }
  TRY(copy_new_file(plan.exec_file, p.exec_on_host, 0755));
  rollback->remove_file(p.exec_on_host);
  return {};
}

Result<void> join_netns(const std::string& path, const UniqueFd& netns) {
  if (::setns(netns.get(), CLONE_NEWNET) != 0) return errno_error("cannot join the network namespace " + path);
  return {};
}

// Enters the jail: the mount namespace, then what the jailed program needs inside it.
Result<void> enter_jail(const JailerArgs& a, const Plan& plan, Rollback* rollback) {
  const JailPaths& p = plan.paths;
  UniqueFd host_ns(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  if (!host_ns.valid()) return errno_error("cannot open /proc/self/ns/mnt");
  struct stat root {};
  if (::stat(p.chroot_dir.c_str(), &root) != 0) return errno_error("cannot stat " + p.chroot_dir);
  rollback->return_to_mount_namespace(std::move(host_ns));
  rollback->restore_owner(p.chroot_dir, root.st_uid, root.st_gid, root.st_mode & 07777);
  for (const std::string& dir : {p.chroot_dir + "/dev", p.chroot_dir + "/run"}) {
    if (!was_prepared(plan, dir)) rollback->remove_tree(dir);
  }
  for (const auto& prepared : plan.prepared_directories) {
    rollback->restore_owner(prepared.path, prepared.uid, prepared.gid, prepared.mode);
    rollback->empty_directory(prepared.path);
  }
  TRY(pivot_into(p.chroot_dir));
  TRY(populate_jail(plan.devices, a.uid, a.gid));
  // The jailed program owns its root, so that it can make its API socket there.
  if (::chown("/", a.uid, a.gid) != 0) return errno_error("cannot chown the jail's root");
  if (::chmod("/", 0700) != 0) return errno_error("cannot chmod the jail's root");
  return {};
}

// execve() of the copied program with `--id <id>` and the arguments after "--", and an empty
// environment. Returns only on failure.
Error exec_target(const JailerArgs& a, const Plan& plan) {
  std::vector<std::string> args = {plan.paths.exec_in_jail, "--id", a.id};
  args.insert(args.end(), a.exec_args.begin(), a.exec_args.end());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  reset_signals();
  ::execve(argv[0], argv.data(), envp);
  const int err = errno;
  Error e = errno_error("exec " + plan.paths.exec_in_jail + " in the jail");
  if (err == EACCES) e.message += " (is the chroot base on a noexec mount?)";
  return e;
}

Result<void> forbid_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("prctl(PR_SET_NO_NEW_PRIVS)");
  return {};
}

// --new-pid-ns: the child (pid 1 of the new namespace) tells the parent why it could not exec
// through a close-on-exec pipe: an exit code byte, then the message. End of file without a
// byte means the exec happened.
[[noreturn]] void child_failed(int report_fd, int code, const Error& e) {
  std::string m(1, static_cast<char>(code));
  m += e.message;
  (void)!::write(report_fd, m.data(), m.size());
  ::_exit(code);
}

[[noreturn]] void run_child(const JailerArgs& a, const Plan& plan, int dev_null, int report_fd) {
  if (a.daemonize) {
    if (auto d = daemonize(dev_null); !d) child_failed(report_fd, kExitSetupFailed, d.error());
  }
  if (auto l = lock_resource_limits(a.resource_limits); !l) child_failed(report_fd, kExitSetupFailed, l.error());
  if (auto s = switch_to(a.uid, a.gid, SavedIds::kDrop); !s) child_failed(report_fd, kExitSetupFailed, s.error());
  if (auto n = forbid_new_privileges(); !n) child_failed(report_fd, kExitSetupFailed, n.error());
  child_failed(report_fd, kExitExecFailed, exec_target(a, plan));
}

volatile sig_atomic_t g_child_pid = 0;

void forward_signal(int sig) {
  if (g_child_pid > 0) ::kill(g_child_pid, sig);
}

int wait_for_child(pid_t child) {
  g_child_pid = child;
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  forward.sa_flags = SA_RESTART;
  sigemptyset(&forward.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &forward, nullptr);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      report(errno_error("waitpid").message);
      return kExitSetupFailed;
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitSetupFailed;
}

// `<chroot>/<exec file name>.pid`: the pid of the jailed program as the host sees it. Firecracker's
// jailer writes it with and without --new-pid-ns, and Kata Containers reads it to find the VMM.
Result<void> write_pid_file(const Plan& plan, pid_t pid) {
  const std::string& path = plan.paths.pid_file_in_jail;
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  const std::string text = std::to_string(pid);
  if (!file.valid() || ::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("cannot write " + plan.paths.chroot_dir + path);
  return {};
}

[[noreturn]] void fail_and_exit(Rollback* rollback, int code, const Error& e) {
  report(e.message);
  rollback->undo();
  ::_exit(code);
}

// Never returns: after unshare(CLONE_NEWPID) this process can fork no more once its child is gone
// (nor can exit-time machinery that forks, like a sanitizer's leak check), so it ends with _exit()
// whatever happens.
[[noreturn]] void run_in_new_pid_namespace(const JailerArgs& a, const Plan& plan, int dev_null, Rollback* rollback) {
  if (::unshare(CLONE_NEWPID) != 0) fail_and_exit(rollback, kExitSetupFailed, errno_error("unshare(CLONE_NEWPID)"));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail_and_exit(rollback, kExitSetupFailed, errno_error("pipe2"));
  UniqueFd from_child(pipe_fds[0]);
  UniqueFd to_parent(pipe_fds[1]);
  const pid_t child = ::fork();
  if (child < 0) fail_and_exit(rollback, kExitSetupFailed, errno_error("fork into the new pid namespace"));
  if (child == 0) {
    from_child.reset();
    run_child(a, plan, dev_null, to_parent.get());
  }
  to_parent.reset();
  std::string outcome;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    outcome.append(buf, static_cast<size_t>(n));
  }
  if (!outcome.empty()) {
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    fail_and_exit(rollback, static_cast<unsigned char>(outcome[0]), make_error(outcome.substr(1)));
  }
  // The child runs the target now. Its pid (as the host sees it) goes next to the program.
  if (auto written = write_pid_file(plan, child); !written) {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    fail_and_exit(rollback, kExitSetupFailed, written.error());
  }
  rollback->dismiss();
  if (a.daemonize) ::_exit(0);
  // Waiting needs no privilege; the child's namespace hides this process from it anyway.
  if (auto s = switch_to(a.uid, a.gid, SavedIds::kDrop); !s) report("warning: " + s.error().message);
  ::_exit(wait_for_child(child));
}

}  // namespace

int run_jailer(const JailerArgs& a) {
  // A --resource-limit fsize= must make an oversized write fail, not kill the jailer mid-setup.
  ::signal(SIGXFSZ, SIG_IGN);

  auto plan = validate(a);
  if (!plan) {
    report(plan.error().message);
    return kExitUsage;
  }
  if (auto fresh = check_no_earlier_jail(*plan); !fresh) {
    report(fresh.error().message);
    return kExitAlreadyExists;
  }

  Rollback rollback;
  auto fail = [&rollback](int code, const Error& e) {
    report(e.message);
    rollback.undo();
    return code;
  };
  if (auto r = build_chroot(*plan, &rollback); !r) return fail(kExitSetupFailed, r.error());
  if (a.netns) {
    if (auto r = join_netns(*a.netns, plan->netns); !r) return fail(kExitSetupFailed, r.error());
    plan->netns.reset();
  }
  auto saved_limits = SavedResourceLimits::save();
  if (!saved_limits) return fail(kExitSetupFailed, saved_limits.error());
  rollback.restore_process_state([limits = *saved_limits] { return limits.restore(); });
  if (auto r = apply_resource_limits(a.resource_limits); !r) return fail(kExitSetupFailed, r.error());
  if (auto r = create_cgroups(plan->cgroups, &rollback); !r) return fail(kExitSetupFailed, r.error());
  if (auto r = join_cgroups(plan->cgroups, plan->proc_self_cgroup, &rollback); !r)
    return fail(kExitSetupFailed, r.error());

  // /dev/null is opened on the host side: the jail has none.
  UniqueFd dev_null;
  if (a.daemonize) {
    dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null.valid()) return fail(kExitSetupFailed, errno_error("cannot open /dev/null"));
  }
  if (auto r = enter_jail(a, *plan, &rollback); !r) return fail(kExitSetupFailed, r.error());

  if (a.new_pid_ns) run_in_new_pid_namespace(a, *plan, dev_null.get(), &rollback);

  if (a.daemonize) {
    if (auto r = daemonize(dev_null.get()); !r) return fail(kExitSetupFailed, r.error());
  }
  // The program keeps this process's pid (the exec replaces the jailer).
  rollback.remove_file(plan->paths.chroot_dir + plan->paths.pid_file_in_jail);
  if (auto r = write_pid_file(*plan, ::getpid()); !r) return fail(kExitSetupFailed, r.error());
  if (auto r = lock_resource_limits(a.resource_limits); !r) return fail(kExitSetupFailed, r.error());
  // The saved ids stay 0 until execve() replaces them, so that a failed exec can still undo.
  if (auto r = switch_to(a.uid, a.gid, SavedIds::kKeepRootUntilExec); !r) {
    (void)return_to_root();
    return fail(kExitSetupFailed, r.error());
  }
  if (auto r = forbid_new_privileges(); !r) {
    (void)return_to_root();
    return fail(kExitSetupFailed, r.error());
  }
  Error exec_error = exec_target(a, *plan);
  if (auto r = return_to_root(); !r) report(r.error().message);
  return fail(kExitExecFailed, exec_error);
}

}  // namespace ember::jailer
