// Reading a custom filter file (--seccomp-filter) in Firecracker's JSON shape:
//
//   {"vmm":  {"default_action": "trap", "filter_action": "allow",
//             "filter": [{"syscall": "read"},
//                        {"syscall": "ioctl", "comment": "KVM_RUN",
//                         "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672}]}]},
//    "api":  {...},
//    "vcpu": {...}}
//
// All three thread kinds are required and nothing else is accepted. Actions: "allow", "trap",
// "kill_process", "kill_thread", "kill" (the process), "log", {"errno": N} (0-4095),
// {"trace": N} (0-65535). Operators: "eq", "ne", "lt", "le", "gt", "ge", {"masked_eq": MASK}
// (matches when argument & MASK == val). A "dword" compares the argument's low 32 bits for eq
// and masked_eq, and the whole register for the ordering operators and ne (so its upper half
// must be 0 for those to hold as written); values are unsigned decimal integers that fit the
// type. Every "comment" is optional and ignored.
//
// The file is untrusted: anything else is an error naming the field ("vcpu.filter[2].args[0].op:
// ...").
#pragma once

#include <string_view>

#include "vmm/seccomp/filter.h"
#include "base/result.h"

namespace ember::seccomp {

// Parses a filter file's text. System call names must exist on x86-64.
[[nodiscard]] Result<FilterSet> parse_filter_file(std::string_view json_text);

}  // namespace ember::seccomp
