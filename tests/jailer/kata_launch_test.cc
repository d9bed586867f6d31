// Kata Containers launching ember through ember-jailer as it launches Firecracker through
// Firecracker's jailer (src/runtime/virtcontainers/fc.go with a jailer_path): the jail root made
// and filled beforehand (run/, bind mounts of the kernel, image, FIFOs and config, empty drive
// placeholders, the root itself bind-mounted onto itself), the jailer's arguments, the socket Kata
// waits for, the pid file it reads, the vCPU threads it pins. Plus the jailer rules this layout
// relies on: empty dev/ and run/ prepared beforehand are taken (and kept by an undo), anything in
// them is an earlier jail, and the pid file is written without --new-pid-ns too.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/client/client.h"
#include "base/unique_fd.h"
#include "jailer/exit_codes.h"
#include "tests/jailer/jail_harness.h"
#include "tests/kvm/client_launch.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Mounts made by the test (as Kata makes them), undone newest first at scope exit.
class Mounts {
 public:
  ~Mounts() {
    for (auto it = points_.rbegin(); it != points_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  }
  bool bind(const std::string& src, const std::string& dst, unsigned long propagation) {
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
    points_.push_back(dst);
    return ::mount(nullptr, dst.c_str(), nullptr, propagation, nullptr) == 0;
  }

 private:
  std::vector<std::string> points_;
};

// Kata's bindMount of a file: the target is made first (an empty file), then bound.
bool kata_jail_resource(Mounts& mounts, const std::string& src, const std::string& jailed) {
  std::ofstream(jailed).close();
  return mounts.bind(src, jailed, MS_SLAVE);
}

class KataLaunch : public JailerTest {};

// fc.go jailed: --id <id> --exec-file <.../firecracker> --uid 0 --gid 0 --chroot-base-dir <base>
// --daemonize -- --config-file /fcConfig.json; then GET / until Running on
// <base>/firecracker/<id>/root/run/firecracker.socket, the pid from <root>/firecracker.pid, the
// hybrid vsock made 0640, the vCPU threads by name, and SIGTERM to end it.
TEST_F(KataLaunch, Jailed) {
  const std::string id = new_id();
  TempDir bin;
  const std::string hypervisor = firecracker_link(bin.path(), EMBER_STATIC_BINARY);
  auto version = run_process({hypervisor, "--version"}, 10s);
  ASSERT_TRUE(kata_accepted_version(version.out).has_value()) << version.out << version.err;

  const std::string vm_path = base_ + "/firecracker/" + id;
  const std::string root = vm_path + "/root";
  std::filesystem::create_directories(root + "/run");  // fcInitConfiguration
  Mounts mounts;
  // fcRemountJailerRootWithExec: the root bound onto itself, shared.
  ASSERT_TRUE(mounts.bind(root, root, MS_SHARED)) << std::strerror(errno);
  // The host-side files, bound into the jail root (fcJailResource).
  std::filesystem::copy_file(guest_path("ticker"), vm_path + "/kernel.host");
  { std::ofstream(vm_path + "/image.host", std::ios::binary) << std::string(1 << 20, '\0'); }
  ASSERT_EQ(::mkfifo((vm_path + "/logs.fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((vm_path + "/metrics.fifo").c_str(), 0600), 0);
  UniqueFd logs(::open((vm_path + "/logs.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  UniqueFd metrics(::open((vm_path + "/metrics.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(logs.valid() && metrics.valid());
  ASSERT_TRUE(kata_jail_resource(mounts, vm_path + "/kernel.host", root + "/vmlinux"));
  ASSERT_TRUE(kata_jail_resource(mounts, vm_path + "/image.host", root + "/rootfs"));
  for (int i = 0; i < 8; ++i) std::ofstream(root + "/drive_" + std::to_string(i));  // createJailedDrive
  ASSERT_TRUE(kata_jail_resource(mounts, vm_path + "/logs.fifo", root + "/logs.fifo"));
  ASSERT_TRUE(kata_jail_resource(mounts, vm_path + "/metrics.fifo", root + "/metrics.fifo"));
  json drives = json::array({{{"drive_id", "rootfs"}, {"is_read_only", true}, {"is_root_device", false}, {"path_on_host", "/rootfs"}}});
  for (int i = 0; i < 8; ++i)
    drives.push_back({{"drive_id", "drive_" + std::to_string(i)},
                      {"is_read_only", false},
                      {"is_root_device", false},
                      {"path_on_host", "/drive_" + std::to_string(i)}});
  const json config = {
      {"boot-source",
       {{"boot_args", "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 pci=off reboot=k panic=1 "
                      "iommu=off net.ifnames=0 random.trust_cpu=on acpi=off 8250.nr_uarts=0 agent.log_vport=1025"},
        {"kernel_image_path", "/vmlinux"}}},
      {"machine-config", {{"mem_size_mib", 128}, {"smt", false}, {"vcpu_count", 1}}},
      {"vsock", {{"guest_cid", 3}, {"uds_path", "/kata.hvsock"}, {"vsock_id", "root"}}},
      {"logger", {{"level", "Error"}, {"log_path", "/logs.fifo"}}},
      {"metrics", {{"metrics_path", "/metrics.fifo"}}},
      {"drives", drives},
  };
  std::ofstream(vm_path + "/fcConfig.json") << config.dump(1, '\t');
  ASSERT_TRUE(kata_jail_resource(mounts, vm_path + "/fcConfig.json", root + "/fcConfig.json"));

  JailerProcess jailer({EMBER_JAILER_BINARY, "--id", id, "--exec-file", hypervisor, "--uid", "0", "--gid", "0",
                        "--chroot-base-dir", base_, "--daemonize", "--", "--config-file", "/fcConfig.json"},
                       base_dir_->path());

  // waitVMMRunning: GET / every 10 ms until Running (fcTimeout: 10 s).
  const std::string sock = root + "/run/firecracker.socket";
  bool running = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !running && std::chrono::steady_clock::now() < deadline;) {
    auto r = api_request(sock, "GET", "/", "", 1s);
    running = r.ok() && json::parse(r->body, nullptr, false).value("state", "") == "Running";
    if (!running) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(running) << "no running VM behind " << sock << "\n" << jailer.err();

  // readJailedFirecrackerPID.
  const std::string pid_text = read_text(root + "/firecracker.pid");
  ASSERT_FALSE(pid_text.empty()) << "no " << root << "/firecracker.pid";
  const int pid = std::stoi(pid_text);
  EXPECT_TRUE(process_alive(pid));
  EXPECT_EQ(socket_server_pid(sock), pid);
  const auto threads = thread_names(pid);
  EXPECT_EQ(threads.at(pid), "firecracker") << describe_threads(threads);
  const auto vcpus = kata_vcpu_threads(pid);
  ASSERT_TRUE(vcpus.has_value()) << describe_threads(threads);
  EXPECT_EQ(vcpus->size(), 1u) << describe_threads(threads);
  EXPECT_EQ(::chmod((root + "/kata.hvsock").c_str(), 0640), 0) << "no hybrid vsock socket";

  // fcEnd.
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  for (int i = 0; i < 1500 && process_alive(pid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(process_alive(pid)) << "ember did not end on SIGTERM";
  jailer.wait(5s);
}

// An empty run/ and dev/ made beforehand are no earlier jail: the jail is built around them.
TEST_F(JailerTest, PreparedEmptyRunAndDevDirectoriesAreTaken) {
  const std::string id = new_id();
  const std::string root = prepare_root("hello", id);
  std::filesystem::create_directories(root + "/run");
  std::filesystem::create_directories(root + "/dev");
  auto r = run_process(jailer_argv(id, {}), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hello from the ember test guest"), std::string::npos) << r.out << r.err;
  // Without --new-pid-ns the pid file holds the jailer's own pid, which ember kept.
  EXPECT_FALSE(read_text(root + "/ember-static.pid").empty());
}

// Something in a prepared run/ (a socket or file left by a jail) is an earlier jail.
TEST_F(JailerTest, NonEmptyRunDirectoryIsAnEarlierJail) {
  const std::string id = new_id();
  const std::string root = prepare_root("hello", id);
  std::filesystem::create_directories(root + "/run");
  std::ofstream(root + "/run/ember.socket").close();
  auto r = run_process(jailer_argv(id, {}), 30s);
  EXPECT_EQ(r.exit_code, jailer::kExitAlreadyExists) << r.err;
  EXPECT_NE(r.err.find("holds an earlier jail"), std::string::npos) << r.err;
  EXPECT_TRUE(exists(root + "/run/ember.socket"));
}

// A jail refused halfway gives a prepared run/ back as it was: still there, empty, same mode.
TEST_F(JailerTest, RefusedJailKeepsThePreparedRunDirectory) {
  const std::string id = new_id();
  const std::string root = prepare_root("hello", id);
  std::filesystem::create_directories(root + "/run");
  ASSERT_EQ(::chmod((root + "/run").c_str(), 0751), 0);
  auto r = run_process(jailer_argv(id, {"--cgroup", "cpu.bogus_setting=1"}), 30s);
  EXPECT_EQ(r.exit_code, jailer::kExitSetupFailed) << r.err;
  ASSERT_TRUE(exists(root + "/run"));
  EXPECT_TRUE(list_dir(root + "/run").empty());
  struct stat st {};
  ASSERT_EQ(::stat((root + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_FALSE(exists(root + "/dev"));
  EXPECT_FALSE(exists(root + "/ember-static"));
  EXPECT_FALSE(exists(root + "/ember-static.pid"));
}

// The jail is named after the exec file as given, not a symlink's target: a `firecracker` symlink
// to ember-static makes <base>/firecracker/<id>/root/firecracker, and ember there takes
// Firecracker's default socket /run/firecracker.socket.
TEST_F(JailerTest, ExecFileSymlinkNamesTheJail) {
  const std::string id = new_id();
  TempDir bin;
  const std::string fc = firecracker_link(bin.path(), EMBER_STATIC_BINARY);
  const std::string root = base_ + "/firecracker/" + id + "/root";
  std::filesystem::create_directories(root);
  JailerProcess jailer({EMBER_JAILER_BINARY, "--id", id, "--exec-file", fc, "--uid", std::to_string(kJailUid), "--gid",
                        std::to_string(kJailGid), "--chroot-base-dir", base_, "--parent-cgroup", parent_cgroup_},
                       base_dir_->path());
  EXPECT_TRUE(wait_for_path(root + "/run/firecracker.socket", 10s)) << jailer.err();
  EXPECT_TRUE(exists(root + "/firecracker"));
  EXPECT_EQ(read_text(root + "/firecracker.pid"), std::to_string(jailer.pid()));
  ::kill(jailer.pid(), SIGTERM);
  jailer.wait(10s);
}

}  // namespace
}  // namespace ember::test
