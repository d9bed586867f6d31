// Snapshot and restore on /dev/kvm with the `ticker` guest, which counts in guest memory and
// prints the count: a snapshot taken mid-run and restored in a new ember continues the count
// where it stopped; a Diff applied onto its Full base equals a Full taken at the same point;
// bad snapshots and requests in the wrong state are refused and the VMs survive.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "api/client/client.h"
#include "snapshot/memory_file.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;

// The tick numbers in a console transcript, in order (only complete lines).
std::vector<long> ticks_in(const std::string& out) {
  std::vector<long> ticks;
  static const std::regex line(R"((?:^|\n)tick (\d+)\n)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it) {
    ticks.push_back(std::stol((*it)[1]));
  }
  return ticks;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One ember serving its API on a socket in the test's directory.
class Ember {
 public:
  Ember(const TempDir& dir, const std::string& name) : sock_(dir.path() + "/" + name + ".sock") {
    process_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{EMBER_BINARY, "--api-sock", sock_, "--id", name});
    ready_ = process_->wait_for_output("API server listening", 10s, /*in_stderr=*/true);
  }
  [[nodiscard]] bool ready() const { return ready_; }
  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    auto r = api_request(sock_, method, path, body, 30s);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ApiResponse{};
  }
  BackgroundProcess& process() { return *process_; }

  // Boots the ticker and waits until it has counted a little.
  void boot_ticker(bool track_dirty_pages = false) {
    EXPECT_EQ(call("PUT", "/machine-config",
                   std::string(R"({"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": )") +
                       (track_dirty_pages ? "true" : "false") + "}")
                  .status,
              204);
    EXPECT_EQ(call("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})").status, 204);
    EXPECT_EQ(call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
    EXPECT_TRUE(process_->wait_for_output("tick 5\n", 30s)) << process_->out() << process_->err();
  }
  int pause() { return call("PATCH", "/vm", R"({"state": "Paused"})").status; }
  int resume() { return call("PATCH", "/vm", R"({"state": "Resumed"})").status; }
  ApiResponse snapshot(const std::string& state, const std::string& mem, const char* type = "Full") {
    return call("PUT", "/snapshot/create",
                std::string(R"({"snapshot_type": ")") + type + R"(", "snapshot_path": ")" + state +
                    R"(", "mem_file_path": ")" + mem + R"("})");
  }
  ApiResponse load(const std::string& state, const std::string& mem, bool resume) {
    return call("PUT", "/snapshot/load",
                R"({"snapshot_path": ")" + state + R"(", "mem_backend": {"backend_type": "File", "backend_path": ")" +
                    mem + R"("}, "resume_vm": )" + (resume ? "true" : "false") + "}");
  }
  // Waits until the console shows a tick after the ones it showed before.
  bool wait_for_more_ticks(std::chrono::milliseconds timeout) {
    const size_t before = ticks_in(process_->out()).size();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ticks_in(process_->out()).size() > before) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  bool serves() { return call("GET", "/").status == 200; }

 private:
  std::string sock_;
  std::unique_ptr<BackgroundProcess> process_;
  bool ready_ = false;
};

class Snapshot : public ::testing::Test {
 protected:
  void SetUp() override { require_kvm(); }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  // Boots the ticker in an ember of its own, snapshots it to vm.state and vm.mem, and lets
  // that ember go.
  void snapshot_a_ticker() {
    Ember a(dir_, "a");
    ASSERT_TRUE(a.ready());
    a.boot_ticker();
    ASSERT_EQ(a.pause(), 204);
    ASSERT_EQ(a.snapshot(path("vm.state"), path("vm.mem")).status, 204);
  }
  TempDir dir_;
};

TEST_F(Snapshot, RestoredGuestContinuesCountingInANewEmber) {
  long last_before = -1;
  {
    Ember a(dir_, "a");
    ASSERT_TRUE(a.ready());
    a.boot_ticker();
    auto refused = a.snapshot(path("vm.state"), path("vm.mem"));
    EXPECT_EQ(refused.status, 400) << "a running VM must be paused first";
    EXPECT_NE(refused.body.find("paused"), std::string::npos) << refused.body;
    ASSERT_EQ(a.pause(), 204);
    auto created = a.snapshot(path("vm.state"), path("vm.mem"));
    ASSERT_EQ(created.status, 204) << created.body;
    const auto ticks = ticks_in(a.process().out());
    ASSERT_FALSE(ticks.empty());
    last_before = ticks.back();
    a.process().send_signal(SIGKILL);
  }
  ASSERT_TRUE(std::filesystem::exists(path("vm.state")));
  EXPECT_EQ(std::filesystem::file_size(path("vm.mem")), 64u << 20);

  Ember b(dir_, "b");
  ASSERT_TRUE(b.ready());
  auto loaded = b.load(path("vm.state"), path("vm.mem"), /*resume=*/true);
  ASSERT_EQ(loaded.status, 204) << loaded.body << b.process().err();
  ASSERT_TRUE(b.wait_for_more_ticks(10s)) << b.process().out() << b.process().err();
  ASSERT_TRUE(b.wait_for_more_ticks(10s));
  const std::string out = b.process().out();
  EXPECT_EQ(out.find("ticker: started"), std::string::npos) << "the guest booted again instead of continuing";
  const auto after = ticks_in(out);
  ASSERT_FALSE(after.empty()) << out;
  // The count continues from the snapshot: the first whole line after it is the next number
  // or the one after (a line cut in half by the pause ends in the restored VM).
  EXPECT_GE(after.front(), last_before + 1) << out;
  EXPECT_LE(after.front(), last_before + 2) << out;
  EXPECT_NE(b.call("GET", "/").body.find("\"Running\""), std::string::npos);
  EXPECT_NE(b.call("GET", "/vm/config").body.find("\"mem_size_mib\":64"), std::string::npos);
}

TEST_F(Snapshot, LoadWithoutResumeStaysPausedUntilResumed) {
  {
    Ember a(dir_, "a");
    ASSERT_TRUE(a.ready());
    a.boot_ticker();
    ASSERT_EQ(a.pause(), 204);
    ASSERT_EQ(a.snapshot(path("vm.state"), path("vm.mem")).status, 204);
    // The snapshotted VM itself resumes and goes on.
    ASSERT_EQ(a.resume(), 204);
    EXPECT_TRUE(a.wait_for_more_ticks(5s));
  }
  Ember b(dir_, "b");
  ASSERT_TRUE(b.ready());
  ASSERT_EQ(b.load(path("vm.state"), path("vm.mem"), /*resume=*/false).status, 204);
  EXPECT_NE(b.call("GET", "/").body.find("\"Paused\""), std::string::npos);
  EXPECT_FALSE(b.wait_for_more_ticks(300ms)) << "a VM loaded without resume_vm ran";
  ASSERT_EQ(b.resume(), 204);
  EXPECT_TRUE(b.wait_for_more_ticks(10s)) << b.process().err();
}

TEST_F(Snapshot, ManyClonesOfOneSnapshotRunAtOnce) {
  ASSERT_NO_FATAL_FAILURE(snapshot_a_ticker());
  const auto written = std::filesystem::last_write_time(path("vm.mem"));
  std::vector<std::unique_ptr<Ember>> clones;
  for (int i = 0; i < 4; ++i) {
    clones.push_back(std::make_unique<Ember>(dir_, "clone" + std::to_string(i)));
    ASSERT_TRUE(clones.back()->ready());
    ASSERT_EQ(clones.back()->load(path("vm.state"), path("vm.mem"), true).status, 204);
  }
  for (auto& c : clones) EXPECT_TRUE(c->wait_for_more_ticks(10s)) << c->process().err();
  // The memory file is only read: every clone's writes stay private.
  EXPECT_EQ(std::filesystem::last_write_time(path("vm.mem")), written);
}

TEST_F(Snapshot, DiffAppliedOntoItsFullBaseEqualsAFullAtTheSamePoint) {
  Ember a(dir_, "a");
  ASSERT_TRUE(a.ready());
  a.boot_ticker(/*track_dirty_pages=*/true);
  ASSERT_EQ(a.pause(), 204);
  ASSERT_EQ(a.snapshot(path("base.state"), path("base.mem")).status, 204);
  ASSERT_EQ(a.resume(), 204);
  ASSERT_TRUE(a.wait_for_more_ticks(5s));
  ASSERT_TRUE(a.wait_for_more_ticks(5s));
  ASSERT_EQ(a.pause(), 204);
  auto diff = a.snapshot(path("diff.state"), path("diff.mem"), "Diff");
  ASSERT_EQ(diff.status, 204) << diff.body;
  ASSERT_EQ(a.snapshot(path("full.state"), path("full.mem")).status, 204);

  // The diff holds few pages: most of the 64 MiB are holes.
  EXPECT_EQ(std::filesystem::file_size(path("diff.mem")), 64u << 20);
  std::filesystem::copy_file(path("base.mem"), path("rebased.mem"));
  auto applied = apply_memory_diff(path("rebased.mem"), path("diff.mem"));
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_TRUE(read_all(path("rebased.mem")) == read_all(path("full.mem")))
      << "the diff applied onto its base differs from a full snapshot";
  EXPECT_FALSE(read_all(path("base.mem")) == read_all(path("full.mem"))) << "the guest changed nothing";

  // The rebased memory with the diff's state restores a VM that goes on counting.
  Ember b(dir_, "b");
  ASSERT_TRUE(b.ready());
  ASSERT_EQ(b.load(path("diff.state"), path("rebased.mem"), true).status, 204);
  EXPECT_TRUE(b.wait_for_more_ticks(10s)) << b.process().err();
}

TEST_F(Snapshot, DiffWithoutDirtyTrackingIsRefused) {
  Ember a(dir_, "a");
  ASSERT_TRUE(a.ready());
  a.boot_ticker();
  ASSERT_EQ(a.pause(), 204);
  auto r = a.snapshot(path("d.state"), path("d.mem"), "Diff");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("track_dirty_pages"), std::string::npos) << r.body;
  EXPECT_FALSE(std::filesystem::exists(path("d.mem")));
  ASSERT_EQ(a.resume(), 204);
  EXPECT_TRUE(a.wait_for_more_ticks(5s));
}

TEST_F(Snapshot, BadSnapshotsAreRefusedAndEmberKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(snapshot_a_ticker());
  const std::string good = read_all(path("vm.state"));
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  };
  std::string corrupted = good;
  corrupted[corrupted.size() / 2] ^= 0x40;
  std::string other_version = good;
  other_version[8] = 9;
  std::filesystem::copy_file(path("vm.mem"), path("short.mem"));
  std::filesystem::resize_file(path("short.mem"), 1 << 20);

  struct Case {
    std::string state, mem, expect;
  };
  const std::vector<Case> cases = {
      {write("truncated.state", good.substr(0, good.size() / 3)), path("vm.mem"), "truncated"},
      {write("corrupted.state", corrupted), path("vm.mem"), "CRC"},
      {write("version.state", other_version), path("vm.mem"), "format version 9"},
      {write("empty.state", ""), path("vm.mem"), "magic"},
      {path("missing.state"), path("vm.mem"), "missing.state"},
      {path("vm.state"), path("short.mem"), "memory file is 1048576 bytes"},
      {path("vm.state"), path("missing.mem"), "missing.mem"},
  };
  Ember b(dir_, "b");
  ASSERT_TRUE(b.ready());
  for (const auto& c : cases) {
    auto r = b.load(c.state, c.mem, true);
    EXPECT_EQ(r.status, 400) << c.state;
    EXPECT_NE(r.body.find(c.expect), std::string::npos) << r.body;
    EXPECT_TRUE(b.serves());
    EXPECT_NE(b.call("GET", "/").body.find("\"Not started\""), std::string::npos) << "a failed load left a VM behind";
  }
  // After all those refusals the same ember still loads the good snapshot.
  ASSERT_EQ(b.load(path("vm.state"), path("vm.mem"), true).status, 204);
  EXPECT_TRUE(b.wait_for_more_ticks(10s)) << b.process().err();
  auto again = b.load(path("vm.state"), path("vm.mem"), true);
  EXPECT_EQ(again.status, 400);
}

TEST_F(Snapshot, LoadAfterConfigurationAndCreateBeforeStartAreRefused) {
  Ember a(dir_, "a");
  ASSERT_TRUE(a.ready());
  EXPECT_EQ(a.snapshot(path("x.state"), path("x.mem")).status, 400);
  EXPECT_EQ(a.call("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})").status, 204);
  auto r = a.load(path("x.state"), path("x.mem"), true);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("configuring"), std::string::npos) << r.body;
}

TEST_F(Snapshot, AFullDiskLeavesNoSnapshotAndTheVmRunsOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs (CI runs as root)";
  const std::string small = path("small");
  std::filesystem::create_directories(small);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=16k"), 0) << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{small};

  Ember a(dir_, "a");
  ASSERT_TRUE(a.ready());
  a.boot_ticker();
  ASSERT_EQ(a.pause(), 204);
  auto r = a.snapshot(small + "/vm.state", small + "/vm.mem");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("No space left"), std::string::npos) << r.body;
  EXPECT_TRUE(std::filesystem::is_empty(small)) << "a failed snapshot left files behind";
  ASSERT_EQ(a.resume(), 204);
  EXPECT_TRUE(a.wait_for_more_ticks(5s)) << "the VM did not survive the failed snapshot";
}

}  // namespace
}  // namespace ember::test
