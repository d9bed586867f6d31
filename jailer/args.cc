#include "jailer/args.h"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace ember::jailer {

Result<void> validate_instance_id(std::string_view id) {
  if (id.empty()) return make_error("--id: empty id");
  if (id.size() > kMaxIdLength)
    return make_error("--id: longer than " + std::to_string(kMaxIdLength) + " characters (" +
                      std::to_string(id.size()) + ")");
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return make_error("--id '" + std::string(id) + "': only letters, digits and '-' are allowed");
  }
  return {};
}

Result<uint32_t> parse_user_id(std::string_view flag, std::string_view text) {
  auto value = parse_decimal_u64(text);
  if (!value) return with_context(std::string(flag), value.error());
  if (*value >= UINT32_MAX)
    return make_error(std::string(flag) + " " + std::string(text) + ": out of range (0 to 4294967294)");
  return static_cast<uint32_t>(*value);
}

Result<CommandLine> parse_command_line(const std::vector<std::string>& argv) {
  CommandLine out;
  JailerArgs& a = out.args;

  // Split at the first "--" ourselves: what follows belongs to the exec'd program.
  auto dashes = std::find(argv.begin(), argv.end(), "--");
  std::vector<std::string> own(argv.begin(), dashes);
  if (dashes != argv.end()) a.exec_args.assign(dashes + 1, argv.end());
  if (own.empty()) own.push_back("ember-jailer");

  CLI::App app{"ember-jailer: runs ember in a chroot, its own mount (and optionally pid) namespace, a\n"
               "network namespace and cgroups, with rlimits, as an unprivileged uid/gid.\n"
               "Arguments after -- are passed to ember after `--id <id>`.",
               "ember-jailer"};
  std::string uid_text;
  std::string gid_text;
  std::string cgroup_version = "1";
  std::vector<std::string> cgroups;
  std::vector<std::string> limits;
  std::string netns;
  std::string parent_cgroup;
  app.add_option("--id", a.id, "MicroVM id: 1-64 letters, digits or '-'")->required();
  app.add_option("--exec-file", a.exec_file, "The (statically linked) program to jail, e.g. ember-static")->required();
  app.add_option("--uid", uid_text, "User id the program runs as")->required();
  app.add_option("--gid", gid_text, "Group id the program runs as")->required();
  app.add_option("--chroot-base-dir", a.chroot_base, "Where jails are made (default /srv/jailer)");
  app.add_option("--netns", netns, "Network namespace file to join, e.g. /var/run/netns/NAME");
  app.add_option("--cgroup-version", cgroup_version, "1 or 2 (default 1)");
  app.add_option("--cgroup", cgroups, "<file>=<value>, e.g. cpu.shares=700 or cpuset.cpus=0 (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--parent-cgroup", parent_cgroup, "Cgroup path under each hierarchy (default: exec file name)");
  app.add_option("--resource-limit", limits, "fsize=<bytes> or no-file=<count> (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--daemonize", a.daemonize, "setsid() and stdin/stdout/stderr to /dev/null");
  app.add_flag("--new-pid-ns", a.new_pid_ns, "Run the program as pid 1 of a new pid namespace");

  std::vector<char*> raw;
  for (auto& s : own) raw.push_back(s.data());
  try {
    app.parse(static_cast<int>(raw.size()), raw.data());
  } catch (const CLI::CallForHelp&) {
    out.help = true;
    out.help_text = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return make_error(e.what());
  }

  TRY(validate_instance_id(a.id));
  if (a.exec_file.empty()) return make_error("--exec-file: empty path");
  ASSIGN_OR_RETURN(a.uid, parse_user_id("--uid", uid_text));
  ASSIGN_OR_RETURN(a.gid, parse_user_id("--gid", gid_text));
  if (a.chroot_base.empty()) return make_error("--chroot-base-dir: empty path");
  if (app.count("--netns") > 0) {
    if (netns.empty()) return make_error("--netns: empty path");
    a.netns = netns;
  }
  ASSIGN_OR_RETURN(a.cgroup_version, parse_cgroup_version(cgroup_version));
  for (const auto& c : cgroups) {
    ASSIGN_OR_RETURN(CgroupSetting setting, parse_cgroup_setting(c));
    a.cgroups.push_back(std::move(setting));
  }
  if (app.count("--parent-cgroup") > 0) {
    TRY(validate_parent_cgroup(parent_cgroup));
    a.parent_cgroup = parent_cgroup;
  }
  for (const auto& l : limits) TRY(parse_resource_limit(l, &a.resource_limits));
  for (const auto& arg : a.exec_args) {
    if (arg == "--id" || arg.rfind("--id=", 0) == 0)
      return make_error("'" + arg + "' after --: the jailer passes --id " + a.id + " itself");
  }
  return out;
}

}  // namespace ember::jailer
