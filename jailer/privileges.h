// Dropping root: no supplementary groups, then the gid, then the uid (a uid change first would
// take away the right to change the rest).
#pragma once

#include <cstdint>

#include "base/result.h"

namespace ember::jailer {

enum class SavedIds {
  // Real, effective and saved ids all become uid/gid: there is no way back.
  kDrop,
  // Real and effective ids become uid/gid, the saved ids stay 0, so that a failed exec can
  // return_to_root() and undo the jail. execve() copies the effective ids into the saved ones
  // (credentials(7)), and with uid != 0 grants no capabilities, so the exec'd program keeps no
  // way back either.
  kKeepRootUntilExec,
};

// setgroups(0), setresgid, setresuid, then checks the ids really changed.
[[nodiscard]] Result<void> switch_to(uint32_t uid, uint32_t gid, SavedIds saved);

// After switch_to(..., kKeepRootUntilExec): back to uid 0 and gid 0 with root's capabilities.
[[nodiscard]] Result<void> return_to_root();

// Forks a child that tries switch_to(uid, gid, kDrop) and reports; nothing changes in the caller.
// Lets the jailer refuse a uid/gid it could not take before it creates anything.
[[nodiscard]] Result<void> probe_switch(uint32_t uid, uint32_t gid);

}  // namespace ember::jailer
