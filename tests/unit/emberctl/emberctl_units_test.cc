// emberctl's pieces that need no process: argument forms, paths, the API bodies it sends, the
// pool file, the JSON report, the sparse copy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "emberctl/cli.h"
#include "emberctl/exit_codes.h"
#include "emberctl/job.h"
#include "emberctl/paths.h"
#include "emberctl/pool.h"
#include "emberctl/report.h"
#include "emberctl/scratch.h"
#include "emberctl/vm_spec.h"

namespace ember::ctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(EmberctlCopySpec, CopyInSplitsAtTheLastColon) {
  auto a = parse_copy_in("./build/a:b.txt:/root/x");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->host, "./build/a:b.txt");
  EXPECT_EQ(a->guest, "/root/x");
  auto dir = parse_copy_in("/src/tool.sh:/usr/local/bin/");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->guest, "/usr/local/bin/tool.sh");
  EXPECT_FALSE(parse_copy_in("nocolon").ok());
  EXPECT_FALSE(parse_copy_in(":/x").ok());
  EXPECT_FALSE(parse_copy_in("a:").ok());
  EXPECT_FALSE(parse_copy_in("a:relative").ok());
}

TEST(EmberctlCopySpec, CopyOutSplitsAtTheFirstColon) {
  auto a = parse_copy_out("/var/log/out.txt:results/out:1.txt");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->guest, "/var/log/out.txt");
  EXPECT_EQ(a->host, "results/out:1.txt");
  auto dir = parse_copy_out("/var/log/out.txt:some/dir/");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->host, "some/dir/out.txt");
  auto existing_dir = parse_copy_out("/x/report.xml:/tmp");
  ASSERT_TRUE(existing_dir.ok());
  EXPECT_EQ(existing_dir->host, "/tmp/report.xml");
  EXPECT_FALSE(parse_copy_out("relative:/tmp/x").ok());
  EXPECT_FALSE(parse_copy_out("/dir/:/tmp/x").ok());
}

TEST(EmberctlPaths, ArtifactsComeFromTheEnvironmentOrBesideTheBinary) {
  EXPECT_EQ(guest_artifacts_dir("/opt/ga", "/x/build/bin"), "/opt/ga");
  EXPECT_EQ(guest_artifacts_dir("", "/x/build/bin"), "/x/build/guest-artifacts");
  EXPECT_EQ(guest_artifacts_dir(nullptr, "/x/build/bin"), "/x/build/guest-artifacts");
  const auto a = guest_artifacts("/g");
  EXPECT_EQ(a.kernel, "/g/kernel/vmlinux");
  EXPECT_EQ(a.initrd, "/g/l2/initramfs.cpio.gz");
  EXPECT_EQ(a.rootfs, "/g/l2/rootfs.ext4");
  EXPECT_EQ(default_ember_binary("/x/build/bin"), "/x/build/bin/ember");
}

TEST(EmberctlPaths, PoolsRootFollowsXdg) {
  EXPECT_EQ(*default_pools_root("/state", "/home/u"), "/state/ember/pools");
  EXPECT_EQ(*default_pools_root("relative", "/home/u"), "/home/u/.local/state/ember/pools");
  EXPECT_EQ(*default_pools_root(nullptr, "/home/u"), "/home/u/.local/state/ember/pools");
  EXPECT_FALSE(default_pools_root(nullptr, nullptr).ok());
  const auto p = pool_paths("/r", "ci");
  EXPECT_EQ(p.dir, "/r/ci");
  EXPECT_EQ(p.info, "/r/ci/pool.json");
  EXPECT_EQ(p.snapshot, "/r/ci/vm.state");
  EXPECT_EQ(p.mem, "/r/ci/vm.mem");
  EXPECT_EQ(p.rootfs, "/r/ci/rootfs.ext4");
}

TEST(EmberctlVmSpec, ConfigureCallsUseFirecrackersBodies) {
  VmSpec spec;
  spec.kernel = "/k";
  spec.initrd = "/i";
  spec.rootfs = DiskSpec{"/scratch/rootfs.ext4", false, true};
  spec.cpus = 2;
  spec.mem_mib = 512;
  spec.extra_boot_args = "lpj=1904640";
  spec.vsock_uds = "/scratch/vsock.sock";
  spec.tap = "ember42";
  const auto calls = configure_calls(spec);
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0].path, "/boot-source");
  auto boot = json::parse(calls[0].body);
  EXPECT_EQ(boot["kernel_image_path"], "/k");
  EXPECT_EQ(boot["initrd_path"], "/i");
  const std::string args = boot["boot_args"];
  EXPECT_NE(args.find("ember.agent=1"), std::string::npos);
  EXPECT_NE(args.find("ember.root=/dev/vda"), std::string::npos);
  EXPECT_EQ(args.substr(args.size() - 11), "lpj=1904640");
  EXPECT_EQ(json::parse(calls[1].body), (json{{"vcpu_count", 2}, {"mem_size_mib", 512}}));
  EXPECT_EQ(calls[2].path, "/drives/rootfs");
  EXPECT_EQ(json::parse(calls[2].body)["is_root_device"], true);
  EXPECT_EQ(calls[3].path, "/network-interfaces/eth0");
  EXPECT_EQ(json::parse(calls[3].body)["host_dev_name"], "ember42");
  EXPECT_EQ(json::parse(calls[4].body), (json{{"guest_cid", 3}, {"uds_path", "/scratch/vsock.sock"}}));
  EXPECT_EQ(calls[5].path, "/actions");
  EXPECT_EQ(json::parse(calls[5].body)["action_type"], "InstanceStart");
  for (const auto& c : calls) EXPECT_EQ(c.method, "PUT");
}

TEST(EmberctlVmSpec, SnapshotBodies) {
  const auto pause = pause_call();
  EXPECT_EQ(pause.method, "PATCH");
  EXPECT_EQ(pause.path, "/vm");
  EXPECT_EQ(json::parse(pause.body), (json{{"state", "Paused"}}));
  const auto create = snapshot_create_call("/p/vm.state", "/p/vm.mem");
  EXPECT_EQ(json::parse(create.body),
            (json{{"snapshot_type", "Full"}, {"snapshot_path", "/p/vm.state"}, {"mem_file_path", "/p/vm.mem"}}));
  const auto load = snapshot_load_call("/p/vm.state", "/p/vm.mem", "/s/v.sock");
  EXPECT_EQ(load.path, "/snapshot/load");
  EXPECT_EQ(json::parse(load.body), (json{{"snapshot_path", "/p/vm.state"},
                                          {"mem_backend", {{"backend_type", "File"}, {"backend_path", "/p/vm.mem"}}},
                                          {"resume_vm", true},
                                          {"vsock_override", {{"uds_path", "/s/v.sock"}}}}));
  EXPECT_EQ(fault_message("{\"fault_message\": \"no\"}"), "no");
  EXPECT_EQ(fault_message("plain"), "plain");
}

PoolInfo sample_pool() {
  PoolInfo p;
  p.name = "ci-1";
  p.ember_version = "0.1.0";
  p.agent_version = "0.1.0";
  p.created = "2024-01-01T00:00:00Z";
  p.kernel = "/k";
  p.initrd = "/i";
  p.has_rootfs = true;
  p.cpus = 2;
  p.mem_mib = 512;
  p.kernel_args = "lpj=1";
  return p;
}

TEST(EmberctlPool, PoolJsonRoundTrips) {
  auto back = parse_pool_json(pool_to_json(sample_pool()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->name, "ci-1");
  EXPECT_EQ(back->ember_version, "0.1.0");
  EXPECT_TRUE(back->has_rootfs);
  EXPECT_EQ(back->cpus, 2u);
  EXPECT_EQ(back->mem_mib, 512u);
  EXPECT_EQ(back->kernel_args, "lpj=1");
}

TEST(EmberctlPool, BadPoolJsonIsRefusedWithTheField) {
  auto with = [](const char* key, json value) {
    json j = json::parse(pool_to_json(sample_pool()));
    if (value.is_discarded()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return parse_pool_json(j.dump());
  };
  EXPECT_FALSE(parse_pool_json("not json").ok());
  EXPECT_FALSE(parse_pool_json("[]").ok());
  auto format = with("format", 2);
  ASSERT_FALSE(format.ok());
  EXPECT_NE(format.error().message.find("recreate"), std::string::npos);
  EXPECT_FALSE(with("vcpu_count", 0).ok());
  EXPECT_FALSE(with("vcpu_count", 33).ok());
  EXPECT_FALSE(with("vcpu_count", -1).ok());
  EXPECT_FALSE(with("vcpu_count", "2").ok());
  EXPECT_FALSE(with("mem_size_mib", 0).ok());
  EXPECT_FALSE(with("name", "../etc").ok());
  EXPECT_FALSE(with("rootfs", "yes").ok());
  auto missing = with("ember_version", json(json::value_t::discarded));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("ember_version"), std::string::npos);
}

TEST(EmberctlPool, Names) {
  EXPECT_TRUE(check_pool_name("ci").ok());
  EXPECT_TRUE(check_pool_name("Build_2.x-y").ok());
  EXPECT_FALSE(check_pool_name("").ok());
  EXPECT_FALSE(check_pool_name(".hidden").ok());
  EXPECT_FALSE(check_pool_name("-flag").ok());
  EXPECT_FALSE(check_pool_name("a/b").ok());
  EXPECT_FALSE(check_pool_name("..").ok());
  EXPECT_FALSE(check_pool_name(std::string(65, 'a')).ok());
}

TEST(EmberctlReport, JsonLine) {
  RunReport r;
  r.exit_code = 70;
  r.error = "timed out \xff";  // invalid UTF-8 must not throw
  r.timed_out = true;
  r.total_s = 2.0004;
  const std::string line = report_json(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = json::parse(line);
  EXPECT_EQ(j["exit_code"], 70);
  EXPECT_TRUE(j["command_exit_code"].is_null());
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_DOUBLE_EQ(j["durations_s"]["total"].get<double>(), 2.0);
  EXPECT_FALSE(j.contains("scratch"));
}

TEST(EmberctlScratch, SparseCopyKeepsBytesAndHolesAndNeverTouchesTheSource) {
  auto dir = ScratchDir::create(fs::temp_directory_path().string(), "emberctl-unit-");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  const std::string src = dir->file("src.img");
  {
    const int fd = ::open(src.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "head", 4, 0), 4);
    ASSERT_EQ(::pwrite(fd, "tail", 4, 64 << 20), 4);  // 64 MiB hole between
    ::close(fd);
  }
  struct stat before {};
  ASSERT_EQ(::stat(src.c_str(), &before), 0);
  const std::string dst = dir->file("dst.img");
  ASSERT_TRUE(copy_file_sparse(src, dst).ok());
  struct stat after {}, copy {};
  ASSERT_EQ(::stat(src.c_str(), &after), 0);
  ASSERT_EQ(::stat(dst.c_str(), &copy), 0);
  EXPECT_EQ(copy.st_size, before.st_size);
  EXPECT_LT(copy.st_blocks * 512, 8 << 20) << "the hole stayed a hole";
  EXPECT_EQ(copy.st_mode & 0777, 0600u);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  std::ifstream in(dst, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.substr(0, 4), "head");
  EXPECT_EQ(bytes.substr(64 << 20), "tail");
  EXPECT_EQ(bytes.find_first_not_of('\0', 4), static_cast<size_t>(64 << 20));
  EXPECT_FALSE(copy_file_sparse(src, dst).ok()) << "never overwrites";
  EXPECT_FALSE(copy_file_sparse(dir->file("missing"), dir->file("x")).ok());
  const std::string path = dir->path();
  EXPECT_TRUE(dir->remove());
  EXPECT_FALSE(fs::exists(path));
}

ParsedCommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "emberctl");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(EmberctlCli, RunOptions) {
  auto p = parse({"run", "--cpus", "2", "--mem", "512", "--copy-in", "a:/x", "--copy-in", "b:/y", "--copy-out",
                  "/z:out", "-e", "A=1", "--timeout", "30", "--json", "--", "sh", "-c", "echo --json"});
  ASSERT_EQ(p.kind, ParsedCommandLine::Kind::kRun);
  EXPECT_EQ(p.run.cpus, 2u);
  EXPECT_EQ(p.run.mem_mib, 512u);
  ASSERT_EQ(p.run.job.copy_in.size(), 2u);
  EXPECT_EQ(p.run.job.copy_in[1].guest, "/y");
  ASSERT_EQ(p.run.job.copy_out.size(), 1u);
  EXPECT_EQ(p.run.job.copy_out[0].host, "out");
  EXPECT_EQ(p.run.job.env, std::vector<std::string>{"A=1"});
  EXPECT_DOUBLE_EQ(p.run.timeout_s, 30);
  EXPECT_TRUE(p.run.json);
  EXPECT_EQ(p.run.job.command, (std::vector<std::string>{"sh", "-c", "echo --json"}));
  EXPECT_EQ(p.run.ready_timeout_s, 120);
  // A repeatable option right before "--" takes one value; the command keeps its own options.
  auto q = parse({"run", "--copy-out", "/a:b", "--", "sh", "-c", "x"});
  ASSERT_EQ(q.kind, ParsedCommandLine::Kind::kRun);
  EXPECT_EQ(q.run.job.copy_out.size(), 1u);
  EXPECT_EQ(q.run.job.command, (std::vector<std::string>{"sh", "-c", "x"}));
}

TEST(EmberctlCli, UsageErrorsAre64) {
  EXPECT_EQ(parse({}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"run"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"run", "--cpus", "99", "--", "true"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"run", "--copy-in", "x", "--", "true"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"pool"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"api", "GET"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--version"}).exit_code, 0);
}

TEST(EmberctlCli, ApiAndPool) {
  auto api = parse({"api", "PUT", "/vm", "{\"state\":\"Paused\"}", "--sock", "/tmp/s"});
  ASSERT_EQ(api.kind, ParsedCommandLine::Kind::kApi);
  EXPECT_EQ(api.api.method, "PUT");
  EXPECT_EQ(api.api.path, "/vm");
  EXPECT_EQ(api.api.body, "{\"state\":\"Paused\"}");
  EXPECT_EQ(api.api.socket, "/tmp/s");
  EXPECT_EQ(parse({"api", "GET", "/"}).api.socket, "/run/ember.socket");

  auto run = parse({"pool", "run", "ci", "--pool-dir", "/p", "--", "make", "test"});
  ASSERT_EQ(run.kind, ParsedCommandLine::Kind::kPoolRun);
  EXPECT_EQ(run.pool_run.name, "ci");
  EXPECT_EQ(run.pool_run.pools_root, "/p");
  EXPECT_EQ(run.pool_run.job.command, (std::vector<std::string>{"make", "test"}));
  auto ls = parse({"pool", "ls", "--json", "--pool-dir", "/q"});
  ASSERT_EQ(ls.kind, ParsedCommandLine::Kind::kPoolList);
  EXPECT_TRUE(ls.json);
  EXPECT_EQ(ls.pools_root, "/q");
  auto rm = parse({"pool", "rm", "old"});
  ASSERT_EQ(rm.kind, ParsedCommandLine::Kind::kPoolRemove);
  EXPECT_EQ(rm.pool_name, "old");
}

}  // namespace
}  // namespace ember::ctl
