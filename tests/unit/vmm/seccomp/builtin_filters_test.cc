#include "vmm/seccomp/builtin_filters.h"

#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <set>
#include <string>

#include "vmm/seccomp/bpf_program.h"

namespace ember::seccomp {
namespace {

TEST(SeccompBuiltinFilters, EverySyscallNameResolvesOnX86_64) {
  for (ThreadKind kind : kAllThreadKinds) {
    for (const AllowedCall& row : builtin_allowlist(kind)) {
      const int nr = seccomp_syscall_resolve_name(row.rule.syscall.c_str());
      EXPECT_GE(nr, 0) << thread_kind_name(kind) << ": '" << row.rule.syscall << "' does not resolve";
    }
  }
}

TEST(SeccompBuiltinFilters, EveryRowSaysWhy) {
  for (ThreadKind kind : kAllThreadKinds)
    for (const AllowedCall& row : builtin_allowlist(kind))
      EXPECT_FALSE(row.why.empty()) << thread_kind_name(kind) << ": " << row.rule.syscall;
}

TEST(SeccompBuiltinFilters, KillTheProcessOnAnythingElse) {
  for (ThreadKind kind : kAllThreadKinds) {
    const Filter f = builtin_filter(kind);
    EXPECT_EQ(f.default_action, (Action{ActionKind::kKillProcess, 0})) << thread_kind_name(kind);
    EXPECT_EQ(f.filter_action, (Action{ActionKind::kAllow, 0})) << thread_kind_name(kind);
    EXPECT_EQ(f.rules.size(), builtin_allowlist(kind).size());
  }
  const FilterSet set = builtin_filters();
  EXPECT_EQ(set.vcpu.rules.size(), builtin_filter(ThreadKind::kVcpu).rules.size());
}

TEST(SeccompBuiltinFilters, CompileWithinTheKernelsLimit) {
  for (ThreadKind kind : kAllThreadKinds) {
    auto program = BpfProgram::compile(builtin_filter(kind));
    ASSERT_TRUE(program.ok()) << thread_kind_name(kind) << ": " << program.error().message;
    EXPECT_GT(program->instruction_count(), 0u);
    EXPECT_LE(program->instruction_count(), 4096u);
  }
}

// Calls no ember thread has any business making: running programs, new processes, other
// processes' memory, kernel modules, mounts, credentials, raw BPF.
TEST(SeccompBuiltinFilters, NeverAllowTheDangerousCalls) {
  const std::set<std::string> forbidden = {
      "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv",
      "process_vm_writev", "kexec_load", "kexec_file_load", "init_module", "finit_module",
      "delete_module", "mount", "umount2", "pivot_root", "chroot", "setuid", "setgid", "setns",
      "unshare", "bpf", "perf_event_open", "userfaultfd", "personality", "prctl", "seccomp",
      "memfd_create", "pkey_mprotect", "socketpair", "bind", "listen", "kill", "chmod", "fchmod",
      "chown", "fchown", "mknod", "mknodat", "symlink", "link", "linkat", "open_by_handle_at",
  };
  for (ThreadKind kind : kAllThreadKinds)
    for (const AllowedCall& row : builtin_allowlist(kind))
      EXPECT_EQ(forbidden.count(row.rule.syscall), 0u) << thread_kind_name(kind) << " allows " << row.rule.syscall;
}

// No thread may make memory executable: every mmap and mprotect row requires PROT_EXEC clear.
TEST(SeccompBuiltinFilters, NeverAllowExecutableMemory) {
  for (ThreadKind kind : kAllThreadKinds) {
    for (const AllowedCall& row : builtin_allowlist(kind)) {
      if (row.rule.syscall != "mmap" && row.rule.syscall != "mprotect") continue;
      bool exec_clear = false;
      for (const ArgCondition& c : row.rule.args)
        exec_clear = exec_clear || (c.index == 2 && c.op == CmpOp::kMaskedEq && (c.mask & PROT_EXEC) && c.value == 0);
      EXPECT_TRUE(exec_clear) << thread_kind_name(kind) << ": " << row.rule.syscall << " without the PROT_EXEC check";
    }
  }
}

// Every ioctl row names its request; sockets are Unix only; the API and vCPU threads open nothing.
TEST(SeccompBuiltinFilters, RestrictArgumentsWhereItMatters) {
  for (ThreadKind kind : kAllThreadKinds) {
    for (const AllowedCall& row : builtin_allowlist(kind)) {
      const SyscallRule& r = row.rule;
      if (r.syscall == "ioctl" || r.syscall == "socket" || r.syscall == "fcntl" || r.syscall == "futex" ||
          r.syscall == "madvise" || r.syscall == "tgkill") {
        EXPECT_FALSE(r.args.empty()) << thread_kind_name(kind) << ": " << r.syscall << " without a condition";
      }
      if (r.syscall == "socket") {
        ASSERT_EQ(r.args.size(), 1u);
        EXPECT_EQ(r.args[0].index, 0);
        EXPECT_EQ(r.args[0].value, static_cast<uint64_t>(AF_UNIX));
      }
      if (kind != ThreadKind::kVmm) {
        EXPECT_NE(r.syscall, "openat") << thread_kind_name(kind);
        EXPECT_NE(r.syscall, "socket") << thread_kind_name(kind);
        EXPECT_NE(r.syscall, "connect") << thread_kind_name(kind);
      }
    }
  }
}

TEST(SeccompBuiltinFilters, OnlyVcpuThreadsRunTheGuest) {
  for (ThreadKind kind : kAllThreadKinds) {
    bool runs = false;
    for (const AllowedCall& row : builtin_allowlist(kind))
      runs = runs || (row.rule.syscall == "ioctl" && row.rule.args.size() == 1 && row.rule.args[0].value == KVM_RUN);
    EXPECT_EQ(runs, kind == ThreadKind::kVcpu) << thread_kind_name(kind);
  }
}

// The request numbers the kernel (C) compiles for structures ending in a flexible array.
TEST(SeccompBuiltinFilters, FlexibleArrayIoctlNumbersAreTheKernels) {
  EXPECT_EQ(kvm_request::kGetMsrs, 0xc008ae88ul);
  EXPECT_EQ(kvm_request::kSetMsrs, 0x4008ae89ul);
  EXPECT_EQ(kvm_request::kGetCpuid2, 0xc008ae91ul);
  EXPECT_EQ(kvm_request::kGetMsrIndexList, 0xc004ae02ul);
  EXPECT_EQ(kvm_request::kGetXsave, 0x9000aea4ul);
  EXPECT_EQ(kvm_request::kSetXsave, 0x5000aea5ul);
  EXPECT_EQ(kvm_request::kGetXsave2, 0x9000aecful);
  // And those without one come straight from <linux/kvm.h>.
  EXPECT_EQ(KVM_RUN, 0xae80u);
  EXPECT_EQ(KVM_GET_REGS, 0x8090ae81ul);
}

}  // namespace
}  // namespace ember::seccomp
