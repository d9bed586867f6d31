// Makes the cgroup directories of a CgroupPlan, writes the settings and moves the jailer in (the
// exec'd program stays there). Every directory and move is recorded in a Rollback.
#pragma once

#include <string_view>

#include "jailer/cgroup_plan.h"
#include "jailer/rollback.h"
#include "base/result.h"

namespace ember::jailer {

// Refuses a plan whose <id> directory exists already: it is left from an earlier run.
[[nodiscard]] Result<void> check_cgroups_absent(const CgroupPlan& plan);

// Creates every directory of the plan (and missing parents) and writes the settings, in command
// line order. v1: an empty cpuset.cpus/cpuset.mems on the way down is filled from its parent (a
// v1 cpuset cgroup starts empty and takes no task until both are set). v2: the controllers the
// settings use are enabled in cgroup.subtree_control of each level above the new directory.
[[nodiscard]] Result<void> create_cgroups(const CgroupPlan& plan, Rollback* rollback);

// Moves the calling process (single-threaded) into every directory of the plan. proc_self_cgroup
// is the text of /proc/self/cgroup from before, to find the way back.
[[nodiscard]] Result<void> join_cgroups(const CgroupPlan& plan, std::string_view proc_self_cgroup,
                                        Rollback* rollback);

}  // namespace ember::jailer
