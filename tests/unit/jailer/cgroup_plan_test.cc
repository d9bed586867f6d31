// --cgroup parsing, /proc/mounts and /proc/self/cgroup parsing, and where each setting goes.
// No root needed: nothing is written.
#include "jailer/cgroup_plan.h"

#include <gtest/gtest.h>

namespace ember::jailer {
namespace {

// This project's CI machine: v1 controllers each on their own mount, cgroup2 at .../unified.
constexpr const char* kMixedMounts =
    "sysfs /sys sysfs rw,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
    "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
    "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
    "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

// A typical systemd host of the v1 era: cpu and cpuacct share a mount.
constexpr const char* kSharedMounts =
    "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
    "cgroup /sys/fs/cgroup/cpuset cgroup rw,nosuid,nodev,noexec,relatime,cpuset,clone_children 0 0\n";

// A pure v2 host.
constexpr const char* kUnifiedMounts = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";

CgroupSetting setting(const char* text) { return parse_cgroup_setting(text).value(); }

TEST(JailerCgroupPlan, SettingForm) {
  auto s = parse_cgroup_setting("cpu.shares=700");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->controller, "cpu");
  EXPECT_EQ(s->file, "cpu.shares");
  EXPECT_EQ(s->value, "700");
  EXPECT_EQ(setting("hugetlb.2MB.max=1024").controller, "hugetlb");
  EXPECT_EQ(setting("cpu.max=50000 100000").value, "50000 100000");
  EXPECT_EQ(setting("cpuset.cpus=0-3,7").value, "0-3,7");
  EXPECT_EQ(setting("a.b=c=d").value, "c=d") << "the value is everything after the first '='";
}

TEST(JailerCgroupPlan, BadSettings) {
  const std::pair<const char*, const char*> cases[] = {
      {"cpu.shares", "expected <file>=<value>"},
      {"=1", "file name is empty"},
      {"cpushares=1", "expected <controller>.<name>"},
      {".shares=1", "expected <controller>.<name>"},
      {"cpu.=1", "expected <controller>.<name>"},
      {"cpu..shares=1", "expected <controller>.<name>"},
      {"cpu.shares/../../x=1", "only letters, digits"},
      {"../cpu.shares=1", "only letters, digits"},
      {"cpu shares=1", "only letters, digits"},
      {"CPU.shares=1", "not a controller name"},
      {"cgroup.procs=1", "managed by the jailer"},
      {"cgroup.threads=1", "managed by the jailer"},
      {"cgroup.subtree_control=+cpu", "managed by the jailer"},
      {"cpu.shares=", "value is empty"},
      {"cpu.shares=1\n2", "control character"},
  };
  for (const auto& [text, message] : cases) {
    auto r = parse_cgroup_setting(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message.find(message), std::string::npos) << text << ": " << r.error().message;
    EXPECT_EQ(r.error().message.rfind("--cgroup '", 0), 0u) << "names the argument: " << r.error().message;
  }
  EXPECT_FALSE(parse_cgroup_setting(std::string(256, 'a') + ".b=1").ok());
  EXPECT_FALSE(parse_cgroup_setting("cpu.shares=" + std::string(4097, '1')).ok());
}

TEST(JailerCgroupPlan, Version) {
  EXPECT_EQ(parse_cgroup_version("1").value(), CgroupVersion::kV1);
  EXPECT_EQ(parse_cgroup_version("2").value(), CgroupVersion::kV2);
  for (const char* bad : {"", "0", "3", "v2", "1 "}) EXPECT_FALSE(parse_cgroup_version(bad).ok()) << bad;
}

TEST(JailerCgroupPlan, ParentCgroup) {
  EXPECT_TRUE(validate_parent_cgroup("ember").ok());
  EXPECT_TRUE(validate_parent_cgroup("all_uvms/external_uvms").ok());
  for (const char* bad : {"", "/abs", "a//b", "a/", "./a", "a/../b", "..", "a/\n"})
    EXPECT_FALSE(validate_parent_cgroup(bad).ok()) << bad;
}

TEST(JailerCgroupPlan, MountsAreParsedAndUnescaped) {
  auto mounts = parse_mounts("a /mnt/with\\040space ext4 rw 0 0\nshort line\n\nb /x tmpfs rw 0 0");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mount_point, "/mnt/with space");
  EXPECT_EQ(mounts[0].fs_type, "ext4");
  EXPECT_EQ(mounts[1].source, "b");
  EXPECT_EQ(parse_mounts("a /back\\134slash x rw 0 0")[0].mount_point, "/back\\slash");
  EXPECT_EQ(parse_mounts("a /trailing\\04 x rw 0 0")[0].mount_point, "/trailing\\04");
}

TEST(JailerCgroupPlan, FindsControllerMounts) {
  auto mixed = find_cgroup_mounts(parse_mounts(kMixedMounts));
  EXPECT_EQ(mixed.v1.at("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(mixed.v1.at("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(mixed.v1.at("cpuset"), "/sys/fs/cgroup/cpuset");
  EXPECT_EQ(mixed.v1.count("rw"), 0u);
  EXPECT_EQ(mixed.v1.count("relatime"), 0u);
  EXPECT_EQ(mixed.v1.count("name=systemd"), 0u);
  EXPECT_EQ(mixed.v2, "/sys/fs/cgroup/unified");

  auto shared = find_cgroup_mounts(parse_mounts(kSharedMounts));
  EXPECT_EQ(shared.v1.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(shared.v1.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(shared.v1.count("clone_children"), 0u);
  EXPECT_EQ(shared.v1.count("noexec"), 0u);
  EXPECT_EQ(shared.v2, "");

  auto unified = find_cgroup_mounts(parse_mounts(kUnifiedMounts));
  EXPECT_TRUE(unified.v1.empty());
  EXPECT_EQ(unified.v2, "/sys/fs/cgroup");
}

TEST(JailerCgroupPlan, V1OneDirectoryPerHierarchy) {
  auto mounts = find_cgroup_mounts(parse_mounts(kMixedMounts));
  auto plan = plan_cgroups(CgroupVersion::kV1, mounts, "",
                           {setting("cpu.shares=700"), setting("cpuset.cpus=0"), setting("cpuset.mems=0"),
                            setting("cpu.cfs_quota_us=50000")},
                           "ember-static", "vm-1");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->dirs.size(), 2u);
  EXPECT_EQ(plan->dirs[0].path, "/sys/fs/cgroup/cpu/ember-static/vm-1");
  EXPECT_EQ(plan->dirs[0].hierarchy_root, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(plan->dirs[0].parent_path, "ember-static");
  ASSERT_EQ(plan->dirs[0].settings.size(), 2u);
  EXPECT_EQ(plan->dirs[0].settings[1].file, "cpu.cfs_quota_us");
  EXPECT_EQ(plan->dirs[1].path, "/sys/fs/cgroup/cpuset/ember-static/vm-1");
  EXPECT_EQ(plan->dirs[1].controllers, std::vector<std::string>{"cpuset"});
  EXPECT_EQ(plan->dirs[1].settings.size(), 2u);
}

TEST(JailerCgroupPlan, V1ControllersSharingAMountShareADirectory) {
  auto mounts = find_cgroup_mounts(parse_mounts(kSharedMounts));
  auto plan = plan_cgroups(CgroupVersion::kV1, mounts, "", {setting("cpu.shares=1"), setting("cpuacct.usage=0")},
                           "a/b", "x");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->dirs.size(), 1u);
  EXPECT_EQ(plan->dirs[0].path, "/sys/fs/cgroup/cpu,cpuacct/a/b/x");
  EXPECT_EQ(plan->dirs[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
}

TEST(JailerCgroupPlan, V1Refusals) {
  auto mounts = find_cgroup_mounts(parse_mounts(kMixedMounts));
  auto missing = plan_cgroups(CgroupVersion::kV1, mounts, "", {setting("io.max=1")}, "p", "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no cgroup v1 hierarchy has the 'io' controller"), std::string::npos);
  auto core = plan_cgroups(CgroupVersion::kV1, mounts, "", {setting("cgroup.clone_children=1")}, "p", "x");
  EXPECT_FALSE(core.ok());
  auto twice = plan_cgroups(CgroupVersion::kV1, mounts, "", {setting("cpu.shares=1"), setting("cpu.shares=2")}, "p", "x");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("given twice"), std::string::npos);
  auto none = plan_cgroups(CgroupVersion::kV1, find_cgroup_mounts(parse_mounts(kUnifiedMounts)), "",
                           {setting("cpu.shares=1")}, "p", "x");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("--cgroup-version 2"), std::string::npos);
}

TEST(JailerCgroupPlan, V2OneDirectoryAndControllersMustBeOffered) {
  auto mounts = find_cgroup_mounts(parse_mounts(kUnifiedMounts));
  auto plan = plan_cgroups(CgroupVersion::kV2, mounts, "cpuset cpu io memory pids\n",
                           {setting("cpu.weight=70"), setting("cpuset.cpus=0"), setting("cgroup.max.descendants=5")},
                           "ember", "vm");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->dirs.size(), 1u);
  EXPECT_EQ(plan->dirs[0].path, "/sys/fs/cgroup/ember/vm");
  EXPECT_EQ(plan->dirs[0].controllers, (std::vector<std::string>{"cpu", "cpuset", "cgroup"}));
  EXPECT_EQ(plan->dirs[0].settings.size(), 3u);

  // This project's CI machine: v2 offers only hugetlb, cpu lives on v1.
  auto mixed = find_cgroup_mounts(parse_mounts(kMixedMounts));
  auto refused = plan_cgroups(CgroupVersion::kV2, mixed, "hugetlb\n", {setting("cpu.weight=70")}, "ember", "vm");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("has no 'cpu' controller (it has: hugetlb)"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("--cgroup-version 1"), std::string::npos);
  auto core = plan_cgroups(CgroupVersion::kV2, mixed, "hugetlb\n", {setting("cgroup.max.depth=2")}, "ember", "vm");
  ASSERT_TRUE(core.ok());
  EXPECT_EQ(core->dirs[0].path, "/sys/fs/cgroup/unified/ember/vm");

  auto no_v2 = plan_cgroups(CgroupVersion::kV2, find_cgroup_mounts(parse_mounts(kSharedMounts)), "",
                            {setting("cpu.weight=1")}, "p", "x");
  ASSERT_FALSE(no_v2.ok());
  EXPECT_NE(no_v2.error().message.find("no cgroup2 hierarchy"), std::string::npos);
}

TEST(JailerCgroupPlan, NoSettingsNoDirectories) {
  auto plan = plan_cgroups(CgroupVersion::kV1, find_cgroup_mounts(parse_mounts(kMixedMounts)), "", {}, "p", "x");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->dirs.empty());
}

TEST(JailerCgroupPlan, CgroupOfProcess) {
  constexpr const char* kText =
      "9:name=systemd:/\n4:memory:/process_api/c0f3\n3:cpuset:/\n1:cpu,cpuacct:/user.slice\n0::/init.scope\n";
  EXPECT_EQ(cgroup_of_process(kText, CgroupVersion::kV1, "memory").value(), "/process_api/c0f3");
  EXPECT_EQ(cgroup_of_process(kText, CgroupVersion::kV1, "cpuset").value(), "/");
  EXPECT_EQ(cgroup_of_process(kText, CgroupVersion::kV1, "cpuacct").value(), "/user.slice");
  EXPECT_EQ(cgroup_of_process(kText, CgroupVersion::kV2, "").value(), "/init.scope");
  EXPECT_FALSE(cgroup_of_process(kText, CgroupVersion::kV1, "pids").ok());
  EXPECT_FALSE(cgroup_of_process(kText, CgroupVersion::kV1, "cpuac").ok());
  EXPECT_FALSE(cgroup_of_process("1:cpu:/\n", CgroupVersion::kV2, "").ok());
  EXPECT_FALSE(cgroup_of_process("garbage\n::\n", CgroupVersion::kV1, "cpu").ok());
}

}  // namespace
}  // namespace ember::jailer
