#include "vmm/seccomp/filter_file.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "vmm/seccomp/syscall_names.h"

namespace ember::seccomp {
namespace {

using json = nlohmann::json;

// Linux's largest errno (MAX_ERRNO); SECCOMP_RET_ERRNO carries it in 16 bits.
constexpr uint64_t kMaxErrno = 4095;
constexpr uint64_t kMaxTraceData = 0xffff;
constexpr uint64_t kMaxArgIndex = 5;

const char* type_name(const json& j) {
  if (j.is_number_float()) return "a fractional number";
  if (j.is_number_integer() && !j.is_number_unsigned()) return "a negative number";
  return j.type_name();
}

// Refuses members of `object` other than `allowed`.
Result<void> check_members(const json& object, const std::string& where,
                           std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return make_error(where + ": unknown field '" + key + "' (expected " + list + ")");
    }
  }
  return {};
}

Result<const json*> member(const json& object, const std::string& where, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return make_error(where + ": missing field '" + key + "'");
  return &*it;
}

Result<uint64_t> unsigned_value(const json& j, const std::string& where, uint64_t max) {
  if (!j.is_number_unsigned())
    return make_error(where + ": expected a non-negative integer, got " + type_name(j));
  const uint64_t v = j.get<uint64_t>();
  if (v > max) return make_error(where + ": " + std::to_string(v) + " is larger than " + std::to_string(max));
  return v;
}

Result<Action> parse_action(const json& j, const std::string& where) {
  constexpr const char* kExpected =
      "expected \"allow\", \"trap\", \"kill_process\", \"kill_thread\", \"kill\", \"log\", "
      "{\"errno\": N} or {\"trace\": N}";
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "allow") return Action{ActionKind::kAllow, 0};
    if (s == "trap") return Action{ActionKind::kTrap, 0};
    if (s == "kill_process" || s == "kill") return Action{ActionKind::kKillProcess, 0};
    if (s == "kill_thread") return Action{ActionKind::kKillThread, 0};
    if (s == "log") return Action{ActionKind::kLog, 0};
    return make_error(where + ": unknown action '" + s + "'; " + kExpected);
  }
  if (j.is_object() && j.size() == 1) {
    if (j.contains("errno")) {
      ASSIGN_OR_RETURN(uint64_t e, unsigned_value(j["errno"], where + ".errno", kMaxErrno));
      return Action{ActionKind::kErrno, static_cast<uint32_t>(e)};
    }
    if (j.contains("trace")) {
      ASSIGN_OR_RETURN(uint64_t t, unsigned_value(j["trace"], where + ".trace", kMaxTraceData));
      return Action{ActionKind::kTrace, static_cast<uint32_t>(t)};
    }
    return make_error(where + ": unknown action '" + j.begin().key() + "'; " + kExpected);
  }
  return make_error(where + ": " + kExpected + ", got " + type_name(j));
}

Result<void> check_comment(const json& object, const std::string& where) {
  auto it = object.find("comment");
  if (it != object.end() && !it->is_string())
    return make_error(where + ".comment: expected a string, got " + type_name(*it));
  return {};
}

Result<ArgCondition> parse_condition(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": expected an object, got " + type_name(j));
  TRY(check_members(j, where, {"index", "type", "op", "val", "comment"}));
  TRY(check_comment(j, where));
  ArgCondition c;

  ASSIGN_OR_RETURN(const json* index, member(j, where, "index"));
  ASSIGN_OR_RETURN(uint64_t i, unsigned_value(*index, where + ".index", kMaxArgIndex));
  c.index = static_cast<uint8_t>(i);

  ASSIGN_OR_RETURN(const json* type, member(j, where, "type"));
  if (!type->is_string() || (*type != "dword" && *type != "qword"))
    return make_error(where + ".type: expected \"dword\" or \"qword\", got " +
                      (type->is_string() ? "'" + type->get<std::string>() + "'" : std::string(type_name(*type))));
  c.width = *type == "dword" ? ArgWidth::kDword : ArgWidth::kQword;
  const uint64_t max = c.width == ArgWidth::kDword ? UINT32_MAX : UINT64_MAX;
  const char* width_name = c.width == ArgWidth::kDword ? " (a dword)" : " (a qword)";

  ASSIGN_OR_RETURN(const json* op, member(j, where, "op"));
  constexpr const char* kOps = "expected \"eq\", \"ne\", \"lt\", \"le\", \"gt\", \"ge\" or {\"masked_eq\": MASK}";
  static constexpr std::array<std::pair<std::string_view, CmpOp>, 6> kNamed = {{
      {"eq", CmpOp::kEq}, {"ne", CmpOp::kNe}, {"lt", CmpOp::kLt},
      {"le", CmpOp::kLe}, {"gt", CmpOp::kGt}, {"ge", CmpOp::kGe},
  }};
  if (op->is_string()) {
    const std::string s = op->get<std::string>();
    bool found = false;
    for (const auto& [name, value] : kNamed) {
      if (s == name) {
        c.op = value;
        found = true;
      }
    }
    if (!found) return make_error(where + ".op: unknown operator '" + s + "'; " + kOps);
  } else if (op->is_object() && op->size() == 1 && op->contains("masked_eq")) {
    c.op = CmpOp::kMaskedEq;
    auto mask = unsigned_value((*op)["masked_eq"], where + ".op.masked_eq", max);
    if (!mask) return make_error(mask.error().message + width_name);
    c.mask = *mask;
  } else {
    return make_error(where + ".op: " + kOps);
  }

  ASSIGN_OR_RETURN(const json* val, member(j, where, "val"));
  auto value = unsigned_value(*val, where + ".val", max);
  if (!value) return make_error(value.error().message + width_name);
  c.value = *value;
  return c;
}

Result<SyscallRule> parse_rule(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": expected an object, got " + type_name(j));
  TRY(check_members(j, where, {"syscall", "args", "comment"}));
  TRY(check_comment(j, where));
  SyscallRule rule;
  ASSIGN_OR_RETURN(const json* name, member(j, where, "syscall"));
  if (!name->is_string()) return make_error(where + ".syscall: expected a string, got " + type_name(*name));
  rule.syscall = name->get<std::string>();
  if (!syscall_number(rule.syscall))
    return make_error(where + ".syscall: '" + rule.syscall + "' is not an x86-64 system call");
  auto args = j.find("args");
  if (args == j.end()) return rule;
  if (!args->is_array()) return make_error(where + ".args: expected an array, got " + type_name(*args));
  if (args->size() > kMaxArgIndex + 1)
    return make_error(where + ".args: " + std::to_string(args->size()) +
                      " conditions; a system call has at most 6 arguments");
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string at = where + ".args[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(ArgCondition c, parse_condition((*args)[i], at));
    // One condition per argument: the conditions are and-ed, and libseccomp compiles one
    // comparison per argument of a rule.
    for (const ArgCondition& earlier : rule.args)
      if (earlier.index == c.index)
        return make_error(at + ".index: argument " + std::to_string(c.index) +
                          " already has a condition in this rule (write a second rule for an alternative)");
    rule.args.push_back(c);
  }
  return rule;
}

Result<Filter> parse_filter(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": expected an object, got " + type_name(j));
  TRY(check_members(j, where, {"default_action", "filter_action", "filter"}));
  Filter f;
  ASSIGN_OR_RETURN(const json* def, member(j, where, "default_action"));
  ASSIGN_OR_RETURN(f.default_action, parse_action(*def, where + ".default_action"));
  ASSIGN_OR_RETURN(const json* act, member(j, where, "filter_action"));
  ASSIGN_OR_RETURN(f.filter_action, parse_action(*act, where + ".filter_action"));
  ASSIGN_OR_RETURN(const json* rules, member(j, where, "filter"));
  if (!rules->is_array()) return make_error(where + ".filter: expected an array, got " + type_name(*rules));
  for (size_t i = 0; i < rules->size(); ++i) {
    ASSIGN_OR_RETURN(SyscallRule r, parse_rule((*rules)[i], where + ".filter[" + std::to_string(i) + "]"));
    f.rules.push_back(std::move(r));
  }
  return f;
}

}  // namespace

Result<FilterSet> parse_filter_file(std::string_view json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    return make_error(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return make_error(std::string("expected an object with vmm, api and vcpu filters, got ") + type_name(doc));
  TRY(check_members(doc, "the filter file", {"vmm", "api", "vcpu"}));
  FilterSet set;
  for (ThreadKind kind : kAllThreadKinds) {
    const std::string name(thread_kind_name(kind));
    auto it = doc.find(name);
    if (it == doc.end()) return make_error("the filter file has no '" + name + "' filter (vmm, api and vcpu are all required)");
    ASSIGN_OR_RETURN(Filter f, parse_filter(*it, name));
    switch (kind) {
      case ThreadKind::kVmm: set.vmm = std::move(f); break;
      case ThreadKind::kApi: set.api = std::move(f); break;
      case ThreadKind::kVcpu: set.vcpu = std::move(f); break;
    }
  }
  return set;
}

}  // namespace ember::seccomp
