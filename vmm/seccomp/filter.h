// A seccomp filter as data: what a thread may call, before it becomes a BPF program.
//
// The model follows Firecracker's JSON filter files (docs/seccomp.md and seccompiler's JSON
// format): a default action for calls no rule matches, one action for calls a rule matches, and
// rules that each name one system call and, optionally, conditions on its arguments that must all
// hold (rules for the same call are alternatives).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::seccomp {

// The kinds of threads in an ember process, each with its own filter.
enum class ThreadKind { kVmm, kApi, kVcpu };
inline constexpr ThreadKind kAllThreadKinds[] = {ThreadKind::kVmm, ThreadKind::kApi, ThreadKind::kVcpu};
// "vmm", "api", "vcpu": the keys of a filter file.
[[nodiscard]] std::string_view thread_kind_name(ThreadKind kind);

enum class ActionKind { kAllow, kErrno, kKillThread, kKillProcess, kLog, kTrace, kTrap };

struct Action {
  ActionKind kind = ActionKind::kKillProcess;
  uint32_t data = 0;  // the errno for kErrno, the tracer's value for kTrace
  friend bool operator==(const Action&, const Action&) = default;
};

// How many bytes of the argument register take part: a dword compares the low 32 bits only (so
// a sign-extended int still matches), a qword all 64.
enum class ArgWidth { kDword, kQword };
enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };

struct ArgCondition {
  uint8_t index = 0;  // 0 to 5
  ArgWidth width = ArgWidth::kDword;
  CmpOp op = CmpOp::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;  // kMaskedEq only: matches when (argument & mask) == value
  friend bool operator==(const ArgCondition&, const ArgCondition&) = default;
};

struct SyscallRule {
  std::string syscall;
  std::vector<ArgCondition> args;  // all must hold; none: any call matches
};

struct Filter {
  Action default_action;
  Action filter_action{ActionKind::kAllow, 0};
  std::vector<SyscallRule> rules;
};

// One filter per thread kind, as a filter file holds them.
struct FilterSet {
  Filter vmm;
  Filter api;
  Filter vcpu;
  [[nodiscard]] const Filter& of(ThreadKind kind) const;
};

}  // namespace ember::seccomp
