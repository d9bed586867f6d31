#include "jailer/cgroup_plan.h"

#include <algorithm>
#include <array>
#include <set>

namespace ember::jailer {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
bool is_file_char(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.';
}

// /proc/mounts escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c).
std::string unescape_mount_field(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && field.size() - i >= 4) {
      const char a = field[i + 1], b = field[i + 2], c = field[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out.push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Mount options of a v1 cgroup mount that are not controller names.
bool is_generic_cgroup_option(std::string_view option) {
  static constexpr std::array<std::string_view, 16> kGeneric = {
      "rw",       "ro",    "relatime", "noatime",        "nodiratime",      "strictatime",
      "nosuid",   "nodev", "noexec",   "sync",           "dirsync",         "lazytime",
      "noprefix", "xattr", "clone_children", "cpuset_v2_mode"};
  if (option.find('=') != std::string_view::npos) return true;  // name=systemd, release_agent=...
  return std::find(kGeneric.begin(), kGeneric.end(), option) != kGeneric.end();
}

}  // namespace

Result<CgroupVersion> parse_cgroup_version(std::string_view text) {
  if (text == "1") return CgroupVersion::kV1;
  if (text == "2") return CgroupVersion::kV2;
  return make_error("--cgroup-version '" + std::string(text) + "': expected 1 or 2");
}

Result<CgroupSetting> parse_cgroup_setting(std::string_view text) {
  const std::string context = "--cgroup '" + std::string(text) + "'";
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    return make_error(context + ": expected <file>=<value>, e.g. cpu.shares=700 or cpuset.cpus=0");
  const std::string_view file = text.substr(0, eq);
  const std::string_view value = text.substr(eq + 1);
  if (file.empty()) return make_error(context + ": the cgroup file name is empty");
  if (file.size() > 255) return make_error(context + ": the cgroup file name is longer than 255 characters");
  if (!std::all_of(file.begin(), file.end(), is_file_char))
    return make_error(context + ": the cgroup file name may hold only letters, digits, '_' and '.'");
  const size_t dot = file.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == file.size() || file.back() == '.' ||
      file.find("..") != std::string_view::npos)
    return make_error(context + ": expected <controller>.<name>, e.g. cpu.shares");
  const std::string_view controller = file.substr(0, dot);
  if (!std::all_of(controller.begin(), controller.end(), is_lower_alnum))
    return make_error(context + ": the controller '" + std::string(controller) + "' is not a controller name");
  static constexpr std::array<std::string_view, 5> kRefused = {
      "cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.subtree_control", "cgroup.type"};
  if (std::find(kRefused.begin(), kRefused.end(), file) != kRefused.end())
    return make_error(context + ": " + std::string(file) + " is managed by the jailer itself");
  if (value.empty()) return make_error(context + ": the value is empty");
  if (value.size() > 4096) return make_error(context + ": the value is longer than 4096 bytes");
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return make_error(context + ": the value holds a control character (one line of text is expected)");
  }
  return CgroupSetting{std::string(controller), std::string(file), std::string(value)};
}

Result<void> validate_parent_cgroup(std::string_view path) {
  const std::string context = "--parent-cgroup '" + std::string(path) + "'";
  if (path.empty()) return make_error(context + ": empty path");
  if (path.size() > 1024) return make_error(context + ": longer than 1024 characters");
  if (path.front() == '/') return make_error(context + ": must be relative to the hierarchy root (no leading '/')");
  for (std::string_view component : split(path, '/')) {
    if (component.empty()) return make_error(context + ": empty path component");
    if (component == "." || component == "..") return make_error(context + ": '.' and '..' are not allowed");
    for (char c : component) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return make_error(context + ": holds a control character");
    }
  }
  return {};
}

std::vector<MountEntry> parse_mounts(std::string_view text) {
  std::vector<MountEntry> mounts;
  for (std::string_view line : split(text, '\n')) {
    const auto fields = split_whitespace(line);
    if (fields.size() < 4) continue;
    mounts.push_back(MountEntry{unescape_mount_field(fields[0]), unescape_mount_field(fields[1]),
                                std::string(fields[2]), std::string(fields[3])});
  }
  return mounts;
}

CgroupMounts find_cgroup_mounts(const std::vector<MountEntry>& mounts) {
  CgroupMounts found;
  for (const MountEntry& m : mounts) {
    if (m.fs_type == "cgroup2") {
      if (found.v2.empty()) found.v2 = m.mount_point;
    } else if (m.fs_type == "cgroup") {
      for (std::string_view option : split(m.options, ',')) {
        if (option.empty() || is_generic_cgroup_option(option)) continue;
        found.v1.emplace(std::string(option), m.mount_point);
      }
    }
  }
  return found;
}

namespace {

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

std::string describe(const std::set<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

}  // namespace

Result<CgroupPlan> plan_cgroups(CgroupVersion version, const CgroupMounts& mounts, std::string_view v2_controllers,
                                const std::vector<CgroupSetting>& settings, std::string_view parent_cgroup,
                                std::string_view id) {
  CgroupPlan plan;
  plan.version = version;
  std::set<std::string> seen_files;
  std::set<std::string> available;
  for (std::string_view c : split_whitespace(v2_controllers)) available.emplace(c);

  for (const CgroupSetting& s : settings) {
    const std::string context = "--cgroup '" + s.file + "=" + s.value + "'";
    if (!seen_files.insert(s.file).second) return make_error(context + ": " + s.file + " is given twice");
    std::string root;
    if (version == CgroupVersion::kV1) {
      if (s.controller == "cgroup")
        return make_error(context + ": cgroup.* files exist in every v1 hierarchy; name a controller's file instead");
      auto it = mounts.v1.find(s.controller);
      if (it == mounts.v1.end())
        return make_error(context + ": no cgroup v1 hierarchy has the '" + s.controller +
                          "' controller (/proc/mounts); if it is on cgroup v2, use --cgroup-version 2");
      root = it->second;
    } else {
      if (mounts.v2.empty()) return make_error(context + ": no cgroup2 hierarchy is mounted (/proc/mounts)");
      if (s.controller != "cgroup" && available.count(s.controller) == 0)
        return make_error(context + ": the cgroup v2 hierarchy at " + mounts.v2 + " has no '" + s.controller +
                          "' controller (it has: " + describe(available) +
                          "); if it is bound to a v1 hierarchy, use --cgroup-version 1");
      root = mounts.v2;
    }
    auto dir = std::find_if(plan.dirs.begin(), plan.dirs.end(),
                            [&](const CgroupDir& d) { return d.hierarchy_root == root; });
    if (dir == plan.dirs.end()) {
      CgroupDir d;
      d.hierarchy_root = root;
      d.parent_path = std::string(parent_cgroup);
      d.path = join(join(root, parent_cgroup), id);
      plan.dirs.push_back(std::move(d));
      dir = plan.dirs.end() - 1;
    }
    if (std::find(dir->controllers.begin(), dir->controllers.end(), s.controller) == dir->controllers.end())
      dir->controllers.push_back(s.controller);
    dir->settings.push_back(s);
  }
  return plan;
}

Result<std::string> cgroup_of_process(std::string_view proc_cgroup_text, CgroupVersion version,
                                      std::string_view controller) {
  // Lines are "<hierarchy id>:<controllers, comma separated>:<path>"; v2's is "0::<path>".
  for (std::string_view line : split(proc_cgroup_text, '\n')) {
    const size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (path.empty() || path.front() != '/') continue;
    if (version == CgroupVersion::kV2) {
      if (id == "0" && controllers.empty()) return std::string(path);
    } else {
      for (std::string_view c : split(controllers, ','))
        if (c == controller) return std::string(path);
    }
  }
  if (version == CgroupVersion::kV2) return make_error("/proc/self/cgroup has no cgroup v2 line");
  return make_error("/proc/self/cgroup has no line for the '" + std::string(controller) + "' controller");
}

}  // namespace ember::jailer
