// The jailer's command line (Firecracker's jailer flags) and the checks that need nothing but the
// text: the id, numbers, cgroup and rlimit forms. Checks against the host (files exist, the uid can
// be taken, the controllers are mounted) come later, in the jailer's validation step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jailer/cgroup_plan.h"
#include "jailer/resource_limits.h"
#include "base/result.h"

namespace ember::jailer {

inline constexpr std::string_view kDefaultChrootBase = "/srv/jailer";
inline constexpr size_t kMaxIdLength = 64;

struct JailerArgs {
  std::string id;
  std::string exec_file;  // as given
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string chroot_base{kDefaultChrootBase};
  std::optional<std::string> netns;  // path of a network namespace file
  CgroupVersion cgroup_version = CgroupVersion::kV1;
  std::vector<CgroupSetting> cgroups;
  std::optional<std::string> parent_cgroup;  // default: the exec file's name
  ResourceLimits resource_limits;
  bool daemonize = false;
  bool new_pid_ns = false;
  std::vector<std::string> exec_args;  // everything after "--"
};

struct CommandLine {
  bool help = false;  // --help was given: print help_text and exit 0
  std::string help_text;
  JailerArgs args;
};

// 1 to 64 characters, each a letter, a digit or '-'.
[[nodiscard]] Result<void> validate_instance_id(std::string_view id);

// A uid or gid: a decimal number below 4294967295 ((uid_t)-1 means "unchanged" to the kernel).
[[nodiscard]] Result<uint32_t> parse_user_id(std::string_view flag, std::string_view text);

// Parses argv (argv[0] is the program name). Everything after the first "--" goes to the exec'd
// program untouched, except that "--id" there is refused: the jailer passes its own.
[[nodiscard]] Result<CommandLine> parse_command_line(const std::vector<std::string>& argv);

}  // namespace ember::jailer
