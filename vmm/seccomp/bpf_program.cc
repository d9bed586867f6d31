#include "vmm/seccomp/bpf_program.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "vmm/seccomp/syscall_names.h"
#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::seccomp {
namespace {

// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
constexpr size_t kMaxInstructions = 4096;
constexpr uint64_t kLow32 = 0xffffffffu;

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

uint32_t to_libseccomp(const Action& a) {
  switch (a.kind) {
    case ActionKind::kAllow: return SCMP_ACT_ALLOW;
    case ActionKind::kErrno: return SCMP_ACT_ERRNO(a.data);
    case ActionKind::kKillThread: return SCMP_ACT_KILL_THREAD;
    case ActionKind::kKillProcess: return SCMP_ACT_KILL_PROCESS;
    case ActionKind::kLog: return SCMP_ACT_LOG;
    case ActionKind::kTrace: return SCMP_ACT_TRACE(a.data);
    case ActionKind::kTrap: return SCMP_ACT_TRAP;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare to_libseccomp(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return SCMP_CMP_EQ;
    case CmpOp::kNe: return SCMP_CMP_NE;
    case CmpOp::kLt: return SCMP_CMP_LT;
    case CmpOp::kLe: return SCMP_CMP_LE;
    case CmpOp::kGt: return SCMP_CMP_GT;
    case CmpOp::kGe: return SCMP_CMP_GE;
    case CmpOp::kMaskedEq: return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

scmp_arg_cmp to_libseccomp(const ArgCondition& c) {
  scmp_arg_cmp cmp{};
  cmp.arg = c.index;
  if (c.width == ArgWidth::kDword && (c.op == CmpOp::kEq || c.op == CmpOp::kMaskedEq)) {
    // Only the low half counts: a 32-bit argument's upper half is whatever the caller's
    // register held (an int is sign-extended), which the kernel ignores too.
    cmp.op = SCMP_CMP_MASKED_EQ;
    cmp.datum_a = c.op == CmpOp::kEq ? kLow32 : (c.mask & kLow32);
    cmp.datum_b = c.value;
    return cmp;
  }
  cmp.op = to_libseccomp(c.op);
  cmp.datum_a = c.op == CmpOp::kMaskedEq ? c.mask : c.value;
  cmp.datum_b = c.op == CmpOp::kMaskedEq ? c.value : 0;
  return cmp;
}

// The program libseccomp generated, read back from the memory file it was exported to.
Result<std::vector<sock_filter>> export_program(void* ctx) {
  UniqueFd file(::memfd_create("ember-seccomp", MFD_CLOEXEC));
  if (!file.valid()) return errno_error("seccomp: memfd_create");
  if (const int rc = seccomp_export_bpf(ctx, file.get()); rc < 0)
    return make_error(std::string("seccomp: libseccomp cannot generate the program: ") + std::strerror(-rc));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return errno_error("seccomp: fstat");
  const auto bytes = static_cast<size_t>(st.st_size);
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0)
    return make_error("seccomp: libseccomp generated " + std::to_string(bytes) + " bytes, not whole instructions");
  std::vector<sock_filter> code(bytes / sizeof(sock_filter));
  size_t done = 0;
  auto* out = reinterpret_cast<char*>(code.data());
  while (done < bytes) {
    const ssize_t n = ::pread(file.get(), out + done, bytes - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("seccomp: reading the generated program");
    if (n == 0) return make_error("seccomp: the generated program was cut short");
    done += static_cast<size_t>(n);
  }
  return code;
}

}  // namespace

Result<BpfProgram> BpfProgram::compile(const Filter& filter) {
  const uint32_t default_action = to_libseccomp(filter.default_action);
  const uint32_t filter_action = to_libseccomp(filter.filter_action);
  Context ctx(seccomp_init(default_action));
  if (!ctx) return make_error("seccomp: libseccomp cannot create a filter with this default action");
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    return make_error("seccomp: libseccomp cannot set the action for foreign architectures");
  for (size_t i = 0; i < filter.rules.size(); ++i) {
    const SyscallRule& rule = filter.rules[i];
    const std::string where = "rule " + std::to_string(i) + " (" + rule.syscall + ")";
    auto nr = syscall_number(rule.syscall);
    if (!nr) return make_error("seccomp: " + where + ": not an x86-64 system call");
    // A rule whose action is the default changes nothing (and libseccomp refuses it).
    if (filter_action == default_action) continue;
    std::vector<scmp_arg_cmp> args;
    for (const ArgCondition& c : rule.args) args.push_back(to_libseccomp(c));
    const int rc = seccomp_rule_add_exact_array(ctx.get(), filter_action, *nr, static_cast<unsigned>(args.size()),
                                                args.empty() ? nullptr : args.data());
    if (rc < 0) return make_error("seccomp: " + where + ": libseccomp refuses it: " + std::strerror(-rc));
  }
  ASSIGN_OR_RETURN(std::vector<sock_filter> code, export_program(ctx.get()));
  if (code.size() > kMaxInstructions)
    return make_error("seccomp: the filter compiles to " + std::to_string(code.size()) +
                      " BPF instructions; the kernel takes at most " + std::to_string(kMaxInstructions));
  return BpfProgram(std::move(code));
}

Result<void> BpfProgram::install() const {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("seccomp: PR_SET_NO_NEW_PRIVS");
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(code_.size());
  prog.filter = const_cast<sock_filter*>(code_.data());  // the kernel only reads it
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    return errno_error("seccomp: installing the filter");
  return {};
}

}  // namespace ember::seccomp
