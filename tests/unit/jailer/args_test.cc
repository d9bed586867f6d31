// The jailer's command line: flags, their validation, and the split at "--". No root needed.
#include "jailer/args.h"

#include <gtest/gtest.h>

namespace ember::jailer {
namespace {

std::vector<std::string> good(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"ember-jailer", "--id", "vm-1", "--exec-file", "/usr/bin/ember-static",
                                   "--uid", "123", "--gid", "100"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string error_of(const std::vector<std::string>& argv) {
  auto r = parse_command_line(argv);
  return r.ok() ? "" : r.error().message;
}

TEST(JailerArgs, MinimalCommandLineHasFirecrackersDefaults) {
  auto r = parse_command_line(good());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const JailerArgs& a = r->args;
  EXPECT_FALSE(r->help);
  EXPECT_EQ(a.id, "vm-1");
  EXPECT_EQ(a.exec_file, "/usr/bin/ember-static");
  EXPECT_EQ(a.uid, 123u);
  EXPECT_EQ(a.gid, 100u);
  EXPECT_EQ(a.chroot_base, "/srv/jailer");
  EXPECT_FALSE(a.netns);
  EXPECT_EQ(a.cgroup_version, CgroupVersion::kV1);
  EXPECT_TRUE(a.cgroups.empty());
  EXPECT_FALSE(a.parent_cgroup);
  EXPECT_FALSE(a.resource_limits.fsize);
  EXPECT_EQ(a.resource_limits.no_file, kDefaultNoFile);
  EXPECT_FALSE(a.daemonize);
  EXPECT_FALSE(a.new_pid_ns);
  EXPECT_TRUE(a.exec_args.empty());
}

TEST(JailerArgs, EveryFlag) {
  auto r = parse_command_line(good({"--chroot-base-dir", "/tmp/jails", "--netns", "/var/run/netns/n1",
                                    "--cgroup-version", "2", "--cgroup", "cpu.weight=70", "--cgroup=cpuset.cpus=0",
                                    "--parent-cgroup", "vms/batch", "--resource-limit", "fsize=1000",
                                    "--resource-limit", "no-file=64", "--daemonize", "--new-pid-ns", "--",
                                    "--no-api", "--config-file", "/vm.json", "--", "x"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const JailerArgs& a = r->args;
  EXPECT_EQ(a.chroot_base, "/tmp/jails");
  EXPECT_EQ(a.netns, "/var/run/netns/n1");
  EXPECT_EQ(a.cgroup_version, CgroupVersion::kV2);
  ASSERT_EQ(a.cgroups.size(), 2u);
  EXPECT_EQ(a.cgroups[0].controller, "cpu");
  EXPECT_EQ(a.cgroups[0].file, "cpu.weight");
  EXPECT_EQ(a.cgroups[0].value, "70");
  EXPECT_EQ(a.cgroups[1].file, "cpuset.cpus");
  EXPECT_EQ(a.parent_cgroup, "vms/batch");
  EXPECT_EQ(a.resource_limits.fsize, 1000u);
  EXPECT_EQ(a.resource_limits.no_file, 64u);
  EXPECT_TRUE(a.daemonize);
  EXPECT_TRUE(a.new_pid_ns);
  // Everything after the first "--" is ember's, a second "--" included.
  EXPECT_EQ(a.exec_args, (std::vector<std::string>{"--no-api", "--config-file", "/vm.json", "--", "x"}));
}

TEST(JailerArgs, HelpIsNotAnError) {
  auto r = parse_command_line({"ember-jailer", "--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  EXPECT_NE(r->help_text.find("--exec-file"), std::string::npos);
}

TEST(JailerArgs, RequiredFlags) {
  EXPECT_NE(error_of({"ember-jailer", "--exec-file", "e", "--uid", "1", "--gid", "1"}).find("--id is required"),
            std::string::npos);
  EXPECT_NE(error_of({"ember-jailer", "--id", "a", "--uid", "1", "--gid", "1"}).find("--exec-file is required"),
            std::string::npos);
  EXPECT_NE(error_of({"ember-jailer", "--id", "a", "--exec-file", "e", "--gid", "1"}).find("--uid is required"),
            std::string::npos);
  EXPECT_NE(error_of({"ember-jailer", "--id", "a", "--exec-file", "e", "--uid", "1"}).find("--gid is required"),
            std::string::npos);
}

TEST(JailerArgs, UnknownFlagsAndStrayValuesAreRefused) {
  EXPECT_NE(error_of(good({"--node", "0"})), "");
  EXPECT_NE(error_of(good({"stray"})), "");
  EXPECT_NE(error_of(good({"--cgroup", "cpu.shares=1", "cpu.shares=2"})), "") << "one value per --cgroup";
  EXPECT_NE(error_of(good({"--id", "again"})), "") << "--id given twice";
}

TEST(JailerArgs, IdValidation) {
  EXPECT_TRUE(validate_instance_id("a").ok());
  EXPECT_TRUE(validate_instance_id("551e7604-e35c-42b3-b825-416853441234").ok());
  EXPECT_TRUE(validate_instance_id(std::string(64, 'Z')).ok());
  EXPECT_FALSE(validate_instance_id("").ok());
  EXPECT_FALSE(validate_instance_id(std::string(65, 'a')).ok());
  for (const char* bad : {"a_b", "a.b", "a/b", "../x", "a b", "a\nb", "ü"})
    EXPECT_FALSE(validate_instance_id(bad).ok()) << bad;
  auto argv = good();
  argv[2] = "x/../y";
  EXPECT_NE(error_of(argv).find("only letters, digits and '-'"), std::string::npos);
}

TEST(JailerArgs, UidGidAreDecimalAndBelowMinusOne) {
  EXPECT_EQ(parse_user_id("--uid", "0").value(), 0u);
  EXPECT_EQ(parse_user_id("--uid", "4294967294").value(), 4294967294u);
  for (const char* bad : {"", "-1", "+1", "1.0", " 1", "0x10", "nobody", "4294967295", "99999999999999999999"}) {
    auto r = parse_user_id("--uid", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("--uid"), std::string::npos);
  }
  EXPECT_NE(error_of(good({"--gid", "abc"})).find("--gid"), std::string::npos);
}

TEST(JailerArgs, IdAfterDashesIsRefused) {
  EXPECT_NE(error_of(good({"--", "--id", "x"})).find("passes --id vm-1 itself"), std::string::npos);
  EXPECT_NE(error_of(good({"--", "--id=x"})), "");
  EXPECT_EQ(error_of(good({"--", "--identity"})), "");
}

TEST(JailerArgs, FlagValuesAreChecked) {
  EXPECT_NE(error_of(good({"--cgroup-version", "3"})).find("expected 1 or 2"), std::string::npos);
  EXPECT_NE(error_of(good({"--cgroup", "cpu.shares"})).find("<file>=<value>"), std::string::npos);
  EXPECT_NE(error_of(good({"--parent-cgroup", "/abs"})).find("relative"), std::string::npos);
  EXPECT_NE(error_of(good({"--resource-limit", "nproc=1"})).find("unknown resource"), std::string::npos);
  EXPECT_NE(error_of(good({"--netns", ""})).find("--netns"), std::string::npos);
  EXPECT_NE(error_of(good({"--chroot-base-dir", ""})).find("--chroot-base-dir"), std::string::npos);
  EXPECT_NE(error_of(good({"--exec-file", ""})), "");
}

}  // namespace
}  // namespace ember::jailer
