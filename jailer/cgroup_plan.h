// Which cgroup directories the jailer creates and which files it writes there: the parts that
// need no root and touch nothing (parsing --cgroup values, /proc/mounts and /proc/self/cgroup,
// building paths), kept apart from the writes in cgroup_setup.h.
//
// Layout (Firecracker's): v1 puts one directory per hierarchy that a setting's controller lives
// in, <mount of that controller>/<parent>/<id>; v2 puts one directory on the unified hierarchy,
// <cgroup2 mount>/<parent>/<id>. <parent> defaults to the exec file's name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ember::jailer {

enum class CgroupVersion { kV1 = 1, kV2 = 2 };

// One --cgroup <file>=<value>, e.g. cpu.shares=700: controller "cpu", file "cpu.shares".
struct CgroupSetting {
  std::string controller;
  std::string file;
  std::string value;
};

[[nodiscard]] Result<CgroupVersion> parse_cgroup_version(std::string_view text);

// Checks the form of one --cgroup argument: <controller>.<name>=<value>. The file name may hold
// only letters, digits, '_' and '.', so it can never leave the cgroup directory; the files
// through which processes move or die (cgroup.procs, tasks, ...) are refused, since the jailer
// moves itself. The value is one line of printable text.
[[nodiscard]] Result<CgroupSetting> parse_cgroup_setting(std::string_view text);

// --parent-cgroup: a relative path ("a" or "a/b") with no empty, "." or ".." component.
[[nodiscard]] Result<void> validate_parent_cgroup(std::string_view path);

struct MountEntry {
  std::string source;
  std::string mount_point;
  std::string fs_type;
  std::string options;
};

// Parses /proc/mounts; octal escapes (\040 for a space, ...) are decoded. Malformed lines are skipped.
[[nodiscard]] std::vector<MountEntry> parse_mounts(std::string_view text);

// Where the hierarchies are mounted.
struct CgroupMounts {
  std::map<std::string, std::string> v1;  // controller name -> mount point (first mount wins)
  std::string v2;                         // the first cgroup2 mount; empty when there is none
};

[[nodiscard]] CgroupMounts find_cgroup_mounts(const std::vector<MountEntry>& mounts);

// One cgroup directory of the VM.
struct CgroupDir {
  std::string hierarchy_root;             // the mount point
  std::vector<std::string> controllers;   // the controllers the settings name, in order
  std::string parent_path;                // relative to hierarchy_root, e.g. "ember"
  std::string path;                       // <hierarchy_root>/<parent_path>/<id>
  std::vector<CgroupSetting> settings;    // in command line order
};

struct CgroupPlan {
  CgroupVersion version = CgroupVersion::kV1;
  std::vector<CgroupDir> dirs;  // empty when no --cgroup was given
};

// Places every setting. v2_controllers is the text of <cgroup2 mount>/cgroup.controllers
// (unused for v1): a v2 setting's controller must be listed there ("cgroup.*" core files need
// none). A setting given twice, or a controller no hierarchy has, is refused.
[[nodiscard]] Result<CgroupPlan> plan_cgroups(CgroupVersion version, const CgroupMounts& mounts,
                                              std::string_view v2_controllers,
                                              const std::vector<CgroupSetting>& settings,
                                              std::string_view parent_cgroup, std::string_view id);

// The cgroup (path from the hierarchy root, e.g. "/" or "/user.slice") that /proc/self/cgroup
// text gives for a v1 controller, or for the v2 hierarchy when version is kV2.
[[nodiscard]] Result<std::string> cgroup_of_process(std::string_view proc_cgroup_text, CgroupVersion version,
                                                    std::string_view controller);

}  // namespace ember::jailer
