#include "vmm/seccomp/filter_file.h"

#include <gtest/gtest.h>

#include <string>

namespace ember::seccomp {
namespace {

// A filter file with `vcpu` as the vcpu filter and minimal vmm and api filters.
std::string with_vcpu(const std::string& vcpu) {
  return R"({"vmm": {"default_action": "trap", "filter_action": "allow", "filter": []},
             "api": {"default_action": "trap", "filter_action": "allow", "filter": []},
             "vcpu": )" + vcpu + "}";
}

// A file whose vcpu filter has the single rule `rule`.
std::string with_rule(const std::string& rule) {
  return with_vcpu(R"({"default_action": "kill_process", "filter_action": "allow", "filter": [)" + rule + "]}");
}

// A file whose vcpu filter has one ioctl rule with the single condition `condition`.
std::string with_condition(const std::string& condition) {
  return with_rule(R"({"syscall": "ioctl", "args": [)" + condition + "]}");
}

TEST(SeccompFilterFile, ParsesFirecrackersShape) {
  const std::string text = R"({
    "vmm": {
      "default_action": "trap",
      "filter_action": "allow",
      "filter": [
        {"syscall": "read"},
        {"syscall": "ioctl", "comment": "KVM_RUN",
         "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672, "comment": "KVM_RUN"}]},
        {"syscall": "mmap",
         "args": [{"index": 2, "type": "dword", "op": {"masked_eq": 4}, "val": 0},
                  {"index": 3, "type": "qword", "op": "ne", "val": 18446744073709551615}]}
      ]
    },
    "api": {"default_action": {"errno": 1}, "filter_action": "log", "filter": [{"syscall": "accept4"}]},
    "vcpu": {"default_action": "kill", "filter_action": {"trace": 7}, "filter": [
      {"syscall": "write", "args": [{"index": 0, "type": "dword", "op": "lt", "val": 3},
                                    {"index": 2, "type": "qword", "op": "ge", "val": 1}]},
      {"syscall": "futex", "args": [{"index": 1, "type": "dword", "op": "le", "val": 129},
                                    {"index": 0, "type": "qword", "op": "gt", "val": 0}]}
    ]}
  })";
  auto set = parse_filter_file(text);
  ASSERT_TRUE(set.ok()) << set.error().message;

  EXPECT_EQ(set->vmm.default_action, (Action{ActionKind::kTrap, 0}));
  EXPECT_EQ(set->vmm.filter_action, (Action{ActionKind::kAllow, 0}));
  ASSERT_EQ(set->vmm.rules.size(), 3u);
  EXPECT_EQ(set->vmm.rules[0].syscall, "read");
  EXPECT_TRUE(set->vmm.rules[0].args.empty());
  ASSERT_EQ(set->vmm.rules[1].args.size(), 1u);
  EXPECT_EQ(set->vmm.rules[1].args[0], (ArgCondition{1, ArgWidth::kDword, CmpOp::kEq, 44672, 0}));
  ASSERT_EQ(set->vmm.rules[2].args.size(), 2u);
  EXPECT_EQ(set->vmm.rules[2].args[0], (ArgCondition{2, ArgWidth::kDword, CmpOp::kMaskedEq, 0, 4}));
  EXPECT_EQ(set->vmm.rules[2].args[1], (ArgCondition{3, ArgWidth::kQword, CmpOp::kNe, UINT64_MAX, 0}));

  EXPECT_EQ(set->api.default_action, (Action{ActionKind::kErrno, 1}));
  EXPECT_EQ(set->api.filter_action, (Action{ActionKind::kLog, 0}));
  EXPECT_EQ(set->vcpu.default_action, (Action{ActionKind::kKillProcess, 0}));
  EXPECT_EQ(set->vcpu.filter_action, (Action{ActionKind::kTrace, 7}));
  EXPECT_EQ(set->vcpu.rules[0].args[0].op, CmpOp::kLt);
  EXPECT_EQ(set->vcpu.rules[0].args[1].op, CmpOp::kGe);
  EXPECT_EQ(set->vcpu.rules[1].args[0].op, CmpOp::kLe);
  EXPECT_EQ(set->vcpu.rules[1].args[1].op, CmpOp::kGt);
  EXPECT_EQ(&set->of(ThreadKind::kApi), &set->api);
}

TEST(SeccompFilterFile, AcceptsEveryActionName) {
  const std::pair<const char*, Action> cases[] = {
      {R"("allow")", {ActionKind::kAllow, 0}},
      {R"("trap")", {ActionKind::kTrap, 0}},
      {R"("kill_process")", {ActionKind::kKillProcess, 0}},
      {R"("kill")", {ActionKind::kKillProcess, 0}},
      {R"("kill_thread")", {ActionKind::kKillThread, 0}},
      {R"("log")", {ActionKind::kLog, 0}},
      {R"({"errno": 4095})", {ActionKind::kErrno, 4095}},
      {R"({"trace": 65535})", {ActionKind::kTrace, 65535}},
  };
  for (const auto& [json_action, expected] : cases) {
    auto set = parse_filter_file(
        with_vcpu(std::string(R"({"default_action": )") + json_action + R"(, "filter_action": "allow", "filter": []})"));
    ASSERT_TRUE(set.ok()) << json_action << ": " << set.error().message;
    EXPECT_EQ(set->vcpu.default_action, expected) << json_action;
  }
}

TEST(SeccompFilterFile, ErrorsNameTheField) {
  struct Case {
    std::string text;
    const char* needle;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {"", "not valid JSON"},
      {"[]", "expected an object with vmm, api and vcpu"},
      {R"({"api": {}, "vcpu": {}})", "no 'vmm' filter"},
      {R"({"vmm": {"default_action": "trap", "filter_action": "allow", "filter": []},
           "api": {"default_action": "trap", "filter_action": "allow", "filter": []}})",
       "no 'vcpu' filter"},
      {with_vcpu("{}").substr(0, with_vcpu("{}").size() - 1) + R"(, "vsock": {}})", "unknown field 'vsock'"},
      {with_vcpu("[]"), "vcpu: expected an object, got array"},
      {with_vcpu(R"({"filter_action": "allow", "filter": []})"), "vcpu: missing field 'default_action'"},
      {with_vcpu(R"({"default_action": "trap", "filter": []})"), "vcpu: missing field 'filter_action'"},
      {with_vcpu(R"({"default_action": "trap", "filter_action": "allow"})"), "vcpu: missing field 'filter'"},
      {with_vcpu(R"({"default_action": "trap", "filter_action": "allow", "filter": {}})"),
       "vcpu.filter: expected an array, got object"},
      {with_vcpu(R"({"default_action": "trap", "filter_action": "allow", "filter": [], "x": 1})"),
       "vcpu: unknown field 'x'"},
      {with_vcpu(R"({"default_action": "explode", "filter_action": "allow", "filter": []})"),
       "vcpu.default_action: unknown action 'explode'"},
      {with_vcpu(R"({"default_action": 3, "filter_action": "allow", "filter": []})"),
       "vcpu.default_action: expected \"allow\""},
      {with_vcpu(R"({"default_action": {"errno": 4096}, "filter_action": "allow", "filter": []})"),
       "vcpu.default_action.errno: 4096 is larger than 4095"},
      {with_vcpu(R"({"default_action": {"errno": -1}, "filter_action": "allow", "filter": []})"),
       "vcpu.default_action.errno: expected a non-negative integer, got a negative number"},
      {with_vcpu(R"({"default_action": {"trace": 65536}, "filter_action": "allow", "filter": []})"),
       "vcpu.default_action.trace: 65536 is larger than 65535"},
      {with_vcpu(R"({"default_action": {"notify": 1}, "filter_action": "allow", "filter": []})"),
       "vcpu.default_action: unknown action 'notify'"},
      {with_vcpu(R"({"default_action": "trap", "filter_action": {"errno": 1, "trace": 2}, "filter": []})"),
       "vcpu.filter_action: expected"},
      {with_rule(R"("read")"), "vcpu.filter[0]: expected an object, got string"},
      {with_rule(R"({})"), "vcpu.filter[0]: missing field 'syscall'"},
      {with_rule(R"({"syscall": 0})"), "vcpu.filter[0].syscall: expected a string, got number"},
      {with_rule(R"({"syscall": "frobnicate"})"), "vcpu.filter[0].syscall: 'frobnicate' is not an x86-64 system call"},
      {with_rule(R"({"syscall": "socketcall"})"), "'socketcall' is not an x86-64 system call"},
      {with_rule(R"({"syscall": ""})"), "vcpu.filter[0].syscall: '' is not an x86-64 system call"},
      {with_rule(R"({"syscall": "read", "action": "allow"})"), "vcpu.filter[0]: unknown field 'action'"},
      {with_rule(R"({"syscall": "read", "comment": 5})"), "vcpu.filter[0].comment: expected a string"},
      {with_rule(R"({"syscall": "read", "args": {}})"), "vcpu.filter[0].args: expected an array"},
      {with_rule(R"({"syscall": "read", "args": [1]})"), "vcpu.filter[0].args[0]: expected an object"},
      {with_condition(R"({"type": "dword", "op": "eq", "val": 1})"), "vcpu.filter[0].args[0]: missing field 'index'"},
      {with_condition(R"({"index": 6, "type": "dword", "op": "eq", "val": 1})"),
       "vcpu.filter[0].args[0].index: 6 is larger than 5"},
      {with_condition(R"({"index": "1", "type": "dword", "op": "eq", "val": 1})"),
       "vcpu.filter[0].args[0].index: expected a non-negative integer, got string"},
      {with_condition(R"({"index": 1, "op": "eq", "val": 1})"), "vcpu.filter[0].args[0]: missing field 'type'"},
      {with_condition(R"({"index": 1, "type": "byte", "op": "eq", "val": 1})"),
       "vcpu.filter[0].args[0].type: expected \"dword\" or \"qword\", got 'byte'"},
      {with_condition(R"({"index": 1, "type": "dword", "val": 1})"), "vcpu.filter[0].args[0]: missing field 'op'"},
      {with_condition(R"({"index": 1, "type": "dword", "op": "equals", "val": 1})"),
       "vcpu.filter[0].args[0].op: unknown operator 'equals'"},
      {with_condition(R"({"index": 1, "type": "dword", "op": {"masked_eq": -4}, "val": 1})"),
       "vcpu.filter[0].args[0].op.masked_eq: expected a non-negative integer"},
      {with_condition(R"({"index": 1, "type": "dword", "op": {"masked_eq": 4294967296}, "val": 1})"),
       "vcpu.filter[0].args[0].op.masked_eq: 4294967296 is larger than 4294967295 (a dword)"},
      {with_condition(R"({"index": 1, "type": "dword", "op": {"masked": 4}, "val": 1})"),
       "vcpu.filter[0].args[0].op: expected \"eq\""},
      {with_condition(R"({"index": 1, "type": "dword", "op": "eq"})"), "vcpu.filter[0].args[0]: missing field 'val'"},
      {with_condition(R"({"index": 1, "type": "dword", "op": "eq", "val": 4294967296})"),
       "vcpu.filter[0].args[0].val: 4294967296 is larger than 4294967295 (a dword)"},
      {with_condition(R"({"index": 1, "type": "qword", "op": "eq", "val": -1})"),
       "vcpu.filter[0].args[0].val: expected a non-negative integer, got a negative number"},
      {with_condition(R"({"index": 1, "type": "qword", "op": "eq", "val": 1.5})"),
       "vcpu.filter[0].args[0].val: expected a non-negative integer, got a fractional number"},
      {with_condition(R"({"index": 1, "type": "qword", "op": "eq", "val": 18446744073709551616})"),
       "vcpu.filter[0].args[0].val: expected a non-negative integer"},
      {with_condition(R"({"index": 1, "type": "dword", "op": "eq", "val": 1, "arg": 2})"),
       "vcpu.filter[0].args[0]: unknown field 'arg'"},
      {with_condition(R"({"index": 1, "type": "dword", "op": "ge", "val": 1},
                        {"index": 1, "type": "dword", "op": "le", "val": 9})"),
       "vcpu.filter[0].args[1].index: argument 1 already has a condition"},
      {with_rule(R"({"syscall": "read", "args": [
          {"index": 0, "type": "dword", "op": "eq", "val": 1}, {"index": 1, "type": "dword", "op": "eq", "val": 1},
          {"index": 2, "type": "dword", "op": "eq", "val": 1}, {"index": 3, "type": "dword", "op": "eq", "val": 1},
          {"index": 4, "type": "dword", "op": "eq", "val": 1}, {"index": 5, "type": "dword", "op": "eq", "val": 1},
          {"index": 5, "type": "dword", "op": "eq", "val": 1}]})"),
       "vcpu.filter[0].args: 7 conditions"},
  };
  for (const Case& c : cases) {
    auto set = parse_filter_file(c.text);
    ASSERT_FALSE(set.ok()) << "accepted: " << c.text;
    EXPECT_NE(set.error().message.find(c.needle), std::string::npos)
        << "message: " << set.error().message << "\nexpected: " << c.needle;
  }
}

TEST(SeccompFilterFile, NamesTheFailingKindAndRuleIndex) {
  const std::string text = R"({
    "vmm": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]},
    "api": {"default_action": "trap", "filter_action": "allow",
            "filter": [{"syscall": "read"}, {"syscall": "write"}, {"syscall": "epoll_wiat"}]},
    "vcpu": {"default_action": "trap", "filter_action": "allow", "filter": []}
  })";
  auto set = parse_filter_file(text);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message, "api.filter[2].syscall: 'epoll_wiat' is not an x86-64 system call");
}

}  // namespace
}  // namespace ember::seccomp
