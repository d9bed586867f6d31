#include "jailer/cgroup_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "jailer/fs_util.h"
#include "base/errno_error.h"

namespace ember::jailer {

namespace {

constexpr size_t kMaxCgroupFileSize = 64 * 1024;

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A v1 cpuset cgroup starts with empty cpus and mems; copy the parent's (which this walk, going
// down from the root, has already filled).
Result<void> inherit_cpuset(const std::string& parent, const std::string& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    const std::string path = dir + "/" + file;
    if (!path_exists(path)) return {};  // not a cpuset hierarchy
    ASSIGN_OR_RETURN(std::string own, read_text_file(path, kMaxCgroupFileSize));
    if (!trim(own).empty()) continue;
    ASSIGN_OR_RETURN(std::string inherited, read_text_file(parent + "/" + file, kMaxCgroupFileSize));
    inherited = trim(inherited);
    if (inherited.empty()) return make_error(parent + "/" + file + " is empty: there is nothing to inherit");
    TRY(write_existing_file(path, inherited));
  }
  return {};
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

Result<void> enable_controllers(const std::string& dir, const std::vector<std::string>& controllers) {
  const std::string control = dir + "/cgroup.subtree_control";
  ASSIGN_OR_RETURN(std::string enabled_text, read_text_file(control, kMaxCgroupFileSize));
  const std::vector<std::string> enabled = words(enabled_text);
  for (const std::string& c : controllers) {
    if (c == "cgroup" || std::find(enabled.begin(), enabled.end(), c) != enabled.end()) continue;
    auto written = write_existing_file(control, "+" + c);
    if (!written) {
      std::string message = "cannot enable the '" + c + "' controller below " + dir + ": " + written.error().message;
      // cgroup v2's "no internal processes" rule (Documentation/admin-guide/cgroup-v2.rst).
      if (message.ends_with(std::strerror(EBUSY)))
        message += " (a cgroup v2 directory that holds processes cannot enable controllers for its children)";
      return make_error(message);
    }
  }
  return {};
}

Result<void> write_settings(const CgroupDir& dir) {
  for (const CgroupSetting& s : dir.settings) {
    const std::string path = dir.path + "/" + s.file;
    const std::string context = "--cgroup '" + s.file + "=" + s.value + "'";
    if (!path_exists(path))
      return make_error(context + ": " + dir.path + " has no file " + s.file + " (not a file of the '" +
                        s.controller + "' controller?)");
    auto written = write_existing_file(path, s.value);
    if (!written) return with_context(context, written.error());
  }
  return {};
}

Result<void> create_dir(const CgroupPlan& plan, const CgroupDir& dir, Rollback* rollback) {
  std::string current = dir.hierarchy_root;
  for (const std::string& level : components(dir.parent_path)) {
    if (plan.version == CgroupVersion::kV2) TRY(enable_controllers(current, dir.controllers));
    const std::string next = current + "/" + level;
    if (::mkdir(next.c_str(), 0755) == 0) {
      rollback->remove_if_empty(next);  // another VM may share this parent by the time we undo
    } else if (errno != EEXIST) {
      return errno_error("cannot create cgroup " + next);
    }
    if (plan.version == CgroupVersion::kV1) TRY(inherit_cpuset(current, next));
    current = next;
  }
  if (plan.version == CgroupVersion::kV2) TRY(enable_controllers(current, dir.controllers));
  if (::mkdir(dir.path.c_str(), 0755) != 0) {
    if (errno == EEXIST) return make_error("cgroup " + dir.path + " already exists (left by an earlier run?)");
    return errno_error("cannot create cgroup " + dir.path);
  }
  rollback->remove_cgroup(dir.path);
  if (plan.version == CgroupVersion::kV1) TRY(inherit_cpuset(current, dir.path));
  return write_settings(dir);
}

}  // namespace

Result<void> check_cgroups_absent(const CgroupPlan& plan) {
  for (const CgroupDir& dir : plan.dirs) {
    if (path_exists(dir.path))
      return make_error("cgroup " + dir.path + " already exists (left by an earlier run?): remove it with rmdir first");
  }
  return {};
}

Result<void> create_cgroups(const CgroupPlan& plan, Rollback* rollback) {
  for (const CgroupDir& dir : plan.dirs) TRY(create_dir(plan, dir, rollback));
  return {};
}

Result<void> join_cgroups(const CgroupPlan& plan, std::string_view proc_self_cgroup, Rollback* rollback) {
  const std::string pid = std::to_string(::getpid());
  for (const CgroupDir& dir : plan.dirs) {
    ASSIGN_OR_RETURN(std::string origin,
                     cgroup_of_process(proc_self_cgroup, plan.version,
                                       dir.controllers.empty() ? "" : dir.controllers.front()));
    if (origin.back() != '/') origin.push_back('/');
    rollback->return_to_cgroup(dir.hierarchy_root + origin + "cgroup.procs");
    auto joined = write_existing_file(dir.path + "/cgroup.procs", pid);
    if (!joined) return with_context("cannot join cgroup " + dir.path, joined.error());
  }
  return {};
}

}  // namespace ember::jailer
