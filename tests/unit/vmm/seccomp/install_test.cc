// Filters installed for real. Each test confines a forked child, never the test runner: a
// filter cannot be removed, and a kill would take the runner down.
#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>

#include "vmm/seccomp/bpf_program.h"
#include "vmm/seccomp/builtin_filters.h"
#include "vmm/seccomp/filter_file.h"
#include "vmm/seccomp/thread_filters.h"

namespace ember::seccomp {
namespace {

// Exit statuses of a child that got through its body.
constexpr int kChildOk = 0;
constexpr int kChildInstallFailed = 90;
constexpr int kChildWrongResult = 91;

// Runs `body` in a forked child and returns its wait status. The body returns the child's exit
// code; a child the filter kills ends by signal. Everything the body needs is prepared by the
// caller, so that between installing a filter and the call under test nothing else happens.
int run_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // A killed child must not leave a core file behind.
    const rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    // The raw call: a sanitizer's _exit() does more (sigaltstack) than the filters allow.
    ::syscall(SYS_exit_group, body());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool killed_by_sigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }
bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == kChildOk; }

BpfProgram builtin_program(ThreadKind kind) {
  auto program = BpfProgram::compile(builtin_filter(kind));
  EXPECT_TRUE(program.ok()) << program.error().message;
  return std::move(program).value();
}

// Installs `program`, then makes `call`: the child dies if the filter forbids it.
int install_then(const BpfProgram& program, const std::function<long()>& call) {
  return run_in_child([&] {
    if (!program.install().ok()) return kChildInstallFailed;
    (void)call();
    return kChildOk;
  });
}

// Every thread kind: the forbidden calls kill the process with SIGSYS.
TEST(SeccompInstall, EachBuiltinFilterKillsOnAForbiddenCall) {
  for (ThreadKind kind : kAllThreadKinds) {
    const BpfProgram program = builtin_program(kind);
    const std::pair<const char*, std::function<long()>> forbidden[] = {
        {"execve", [] { return ::syscall(SYS_execve, "/bin/true", nullptr, nullptr); }},
        {"fork", [] { return ::syscall(SYS_fork); }},
        {"ptrace", [] { return ::syscall(SYS_ptrace, 0, 0, 0, 0); }},
        {"socket(AF_INET)", [] { return ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
        {"mmap(PROT_EXEC)",
         [] { return ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }},
        {"mprotect(PROT_EXEC)", [] { return ::syscall(SYS_mprotect, nullptr, 4096, PROT_READ | PROT_EXEC); }},
        {"ioctl(TIOCSTI)", [] { return ::syscall(SYS_ioctl, -1, TIOCSTI, nullptr); }},
        {"tgkill(SIGUSR2)", [] { return ::syscall(SYS_tgkill, ::getpid(), ::gettid(), SIGUSR2); }},
    };
    for (const auto& [name, call] : forbidden) {
      const int status = install_then(program, call);
      EXPECT_TRUE(killed_by_sigsys(status)) << thread_kind_name(kind) << " filter, " << name << ": " << describe(status);
    }
  }
}

TEST(SeccompInstall, VcpuThreadsMayNotOpenFilesOrSockets) {
  const BpfProgram program = builtin_program(ThreadKind::kVcpu);
  for (const auto& call : std::initializer_list<std::function<long()>>{
           [] { return ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); },
           [] { return ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); },
           [] { return ::syscall(SYS_ioctl, -1, KVM_SET_REGS, nullptr); },
           [] { return ::syscall(SYS_ioctl, -1, KVM_CREATE_VCPU, 0); },
       }) {
    const int status = install_then(program, call);
    EXPECT_TRUE(killed_by_sigsys(status)) << describe(status);
  }
}

TEST(SeccompInstall, ApiThreadMayNotTouchKvmOrFiles) {
  const BpfProgram program = builtin_program(ThreadKind::kApi);
  for (const auto& call : std::initializer_list<std::function<long()>>{
           [] { return ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); },
           [] { return ::syscall(SYS_ioctl, -1, KVM_RUN, 0); },
           [] { return ::syscall(SYS_connect, -1, nullptr, 0); },
       }) {
    const int status = install_then(program, call);
    EXPECT_TRUE(killed_by_sigsys(status)) << describe(status);
  }
}

TEST(SeccompInstall, VmmThreadMayNotRunTheGuestOrCreateVcpus) {
  const BpfProgram program = builtin_program(ThreadKind::kVmm);
  for (const auto& call : std::initializer_list<std::function<long()>>{
           [] { return ::syscall(SYS_ioctl, -1, KVM_RUN, 0); },
           [] { return ::syscall(SYS_ioctl, -1, KVM_CREATE_VCPU, 0); },
           [] { return ::syscall(SYS_ioctl, -1, KVM_CREATE_VM, 0); },
           [] { return ::syscall(SYS_tgkill, ::getpid(), ::gettid(), SIGUSR1); },
       }) {
    const int status = install_then(program, call);
    EXPECT_TRUE(killed_by_sigsys(status)) << describe(status);
  }
}

// What each thread needs still works: the call runs and returns its usual error or result.
TEST(SeccompInstall, AllowedCallsStillWork) {
  struct Case {
    ThreadKind kind;
    const char* name;
    std::function<bool()> call;  // true when the call behaved as it does unconfined
  };
  const Case cases[] = {
      {ThreadKind::kVcpu, "KVM_RUN on a bad fd", [] { return ::syscall(SYS_ioctl, -1, KVM_RUN, 0) == -1 && errno == EBADF; }},
      // A request number with bit 31 set, sign-extended by a caller that passed it as an int:
      // the filter compares the low 32 bits, as the kernel does.
      {ThreadKind::kVcpu, "KVM_GET_REGS sign-extended",
       [] { return ::syscall(SYS_ioctl, -1, 0xffffffff00000000ul | KVM_GET_REGS, nullptr) == -1 && errno == EBADF; }},
      {ThreadKind::kVcpu, "write", [] { return ::syscall(SYS_write, -1, "", 0) == -1 && errno == EBADF; }},
      {ThreadKind::kApi, "accept4", [] { return ::syscall(SYS_accept4, -1, nullptr, nullptr, 0) == -1 && errno == EBADF; }},
      {ThreadKind::kApi, "FIONBIO", [] { return ::syscall(SYS_ioctl, -1, FIONBIO, nullptr) == -1 && errno == EBADF; }},
      {ThreadKind::kVmm, "socket(AF_UNIX)", [] {
         const long fd = ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
         return fd >= 0 && ::syscall(SYS_close, fd) == 0;
       }},
      {ThreadKind::kVmm, "openat", [] {
         const long fd = ::syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
         return fd >= 0 && ::syscall(SYS_close, fd) == 0;
       }},
      {ThreadKind::kVmm, "KVM_GET_IRQCHIP", [] { return ::syscall(SYS_ioctl, -1, KVM_GET_IRQCHIP, nullptr) == -1 && errno == EBADF; }},
      {ThreadKind::kVmm, "KVM_GET_MSRS (C size)",
       [] { return ::syscall(SYS_ioctl, -1, kvm_request::kGetMsrs, nullptr) == -1 && errno == EBADF; }},
      {ThreadKind::kVmm, "anonymous read-write mmap", [] {
         const long p = ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
         return p != -1 && ::syscall(SYS_munmap, p, 4096) == 0;
       }},
  };
  for (const Case& c : cases) {
    auto program = BpfProgram::compile(builtin_filter(c.kind));
    ASSERT_TRUE(program.ok()) << program.error().message;
    const int status = run_in_child([&] {
      if (!program->install().ok()) return kChildInstallFailed;
      return c.call() ? kChildOk : kChildWrongResult;
    });
    EXPECT_TRUE(exited_ok(status)) << thread_kind_name(c.kind) << ", " << c.name << ": " << describe(status);
  }
}

// A filter file's actions are honoured: errno answers, trap kills with SIGSYS.
TEST(SeccompInstall, CustomFilterActions) {
  auto set = parse_filter_file(R"({
    "vmm": {"default_action": {"errno": 1}, "filter_action": "allow",
            "filter": [{"syscall": "exit_group"}, {"syscall": "exit"},
                       {"syscall": "getppid", "args": [{"index": 0, "type": "qword", "op": "eq", "val": 0}]}]},
    "api": {"default_action": "allow", "filter_action": "trap", "filter": [{"syscall": "getppid"}]},
    "vcpu": {"default_action": "allow", "filter_action": {"errno": 13},
             "filter": [{"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": {"masked_eq": 255}, "val": 128}]}]}
  })");
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto programs = compile_thread_programs(*set);
  ASSERT_TRUE(programs.ok()) << programs.error().message;

  // vmm: getpid is not listed (EPERM), getppid is when its unused argument is 0.
  int status = run_in_child([&] {
    if (!programs->vmm->install().ok()) return kChildInstallFailed;
    const bool denied = ::syscall(SYS_getpid) == -1 && errno == EPERM;
    const bool allowed = ::syscall(SYS_getppid, 0) > 0;
    const bool arg_denied = ::syscall(SYS_getppid, 1) == -1 && errno == EPERM;
    return denied && allowed && arg_denied ? kChildOk : kChildWrongResult;
  });
  EXPECT_TRUE(exited_ok(status)) << describe(status);

  // api: a trap is a SIGSYS that ends the process.
  status = install_then(*programs->api, [] { return ::syscall(SYS_getppid); });
  EXPECT_TRUE(killed_by_sigsys(status)) << describe(status);

  // vcpu: only requests whose low byte is 0x80 (KVM_RUN is 0xae80) get EACCES.
  status = run_in_child([&] {
    if (!programs->vcpu->install().ok()) return kChildInstallFailed;
    const bool matched = ::syscall(SYS_ioctl, -1, KVM_RUN, 0) == -1 && errno == EACCES;
    const bool other = ::syscall(SYS_ioctl, -1, KVM_GET_REGS, nullptr) == -1 && errno == EBADF;
    return matched && other ? kChildOk : kChildWrongResult;
  });
  EXPECT_TRUE(exited_ok(status)) << describe(status);
}

// The process-wide registry: nothing installed until it is given programs, then each kind gets
// its own.
TEST(SeccompInstall, ThreadFiltersRegistry) {
  int status = run_in_child([] {
    // No programs set: a no-op, and a forbidden call still works.
    if (!install_thread_filter(ThreadKind::kVcpu).ok()) return kChildInstallFailed;
    const long fd = ::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 ? kChildOk : kChildWrongResult;
  });
  EXPECT_TRUE(exited_ok(status)) << describe(status);

  auto programs = compile_thread_programs(builtin_filters());
  ASSERT_TRUE(programs.ok()) << programs.error().message;
  status = run_in_child([&] {
    set_thread_filters(std::move(programs).value());
    if (!install_thread_filter(ThreadKind::kVcpu).ok()) return kChildInstallFailed;
    (void)::syscall(SYS_ioctl, -1, KVM_RUN, 0);  // allowed
    (void)::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);  // not for a vCPU thread
    return kChildOk;
  });
  EXPECT_TRUE(killed_by_sigsys(status)) << describe(status);
}

TEST(SeccompInstall, CompileErrorsNameTheKindAndRule) {
  FilterSet set = builtin_filters();
  set.api.rules.push_back(SyscallRule{"no_such_call", {}});
  auto programs = compile_thread_programs(set);
  ASSERT_FALSE(programs.ok());
  EXPECT_NE(programs.error().message.find("api: seccomp: rule "), std::string::npos) << programs.error().message;
  EXPECT_NE(programs.error().message.find("(no_such_call)"), std::string::npos) << programs.error().message;

  // Two comparisons of one argument in a rule: libseccomp cannot, and says so.
  Filter f = builtin_filter(ThreadKind::kVcpu);
  f.rules.push_back(SyscallRule{"read", {{0, ArgWidth::kQword, CmpOp::kGe, 1, 0}, {0, ArgWidth::kQword, CmpOp::kLe, 9, 0}}});
  auto program = BpfProgram::compile(f);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.error().message.find("(read): libseccomp refuses it"), std::string::npos) << program.error().message;
}

}  // namespace
}  // namespace ember::seccomp
