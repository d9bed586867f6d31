// The exit statuses of ember-jailer when it does not exec the target. On success the jailer is
// replaced by the target (ember) and the status is ember's own (see the top-level README).
// They are far from ember's 0-3 so that a supervisor can tell a refused jail from a VM's end.
#pragma once

namespace ember::jailer {

// The command line is wrong or names something unusable (bad id, missing exec file, uid that
// cannot be taken, unknown cgroup controller, ...). Nothing was created.
inline constexpr int kExitUsage = 64;
// A setup step failed on the host (cgroup file refused a value, setns, mount, pivot_root,
// mknod, ...). Everything this run had created was removed.
inline constexpr int kExitSetupFailed = 71;
// The chroot or a cgroup of this id is left from an earlier run. Nothing was created.
inline constexpr int kExitAlreadyExists = 73;
// The jail was ready but exec of the target failed. Everything this run had created was removed.
inline constexpr int kExitExecFailed = 126;

}  // namespace ember::jailer
