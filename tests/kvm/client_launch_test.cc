// Firecracker's clients launching ember as they launch Firecracker, with ember invoked through a
// `firecracker` symlink: the command lines, config files and call sequences are those of
//   - Kata Containers (src/runtime/virtcontainers/fc.go, plain: no jailer; the jailed launch is
//     tests/jailer/kata_launch_test.cc),
//   - firectl (main.go/options.go) through firecracker-go-sdk (machine.go, handlers.go),
//   - flintlock (infrastructure/microvm/firecracker/create.go, config.go, types.go).
// The guests are the freestanding test guests (ticker, boottime): reaching InstanceStart and a
// running guest is what these tests check; what each client reads back is checked as the client
// reads it.
//
// Left out (each said where it happens): network interfaces (they need a tap device: every
// client launch here has none), flintlock's `--metadata` and its "mmds-config" (MMDS is another
// issue). firectl runs with `--disable-smt`; flintlock writes `"smt": true` on x86_64.
#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/client/client.h"
#include "base/unique_fd.h"
#include "tests/kvm/client_launch.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Reads what is in a non-blocking FIFO right now.
std::string drain_fifo(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Kata's waitVMMRunning: GET / every 10 ms until "state" is "Running", for fcTimeout (10 s).
bool kata_wait_vmm_running(const std::string& sock) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = api_request(sock, "GET", "/", "", 1s);
    if (r.ok() && r->status == 200) {
      const json j = json::parse(r->body, nullptr, false);
      if (j.is_object() && j.value("state", "") == "Running") return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The file fc.go's StartVM writes (json.MarshalIndent of types.FcConfig with tabs), for a jail
// root `root` as seen by the VMM ("" inside the jail; the host path for a plain launch).
std::string kata_fc_config(const std::string& root, int vcpus, int mem_mib, bool debug) {
  // fcInitConfiguration: GetKernelRootParams(rootfs, ...) first, then fcKernelParams, then the
  // console (debug) or 8250.nr_uarts=0 agent.log_vport=1025.
  std::string boot_args =
      "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 pci=off reboot=k panic=1 "
      "iommu=off net.ifnames=0 random.trust_cpu=on acpi=off";
  boot_args += debug ? " console=ttyS0" : " 8250.nr_uarts=0 agent.log_vport=1025";
  std::string drives = "\t\t{\n\t\t\t\"drive_id\": \"rootfs\",\n\t\t\t\"is_read_only\": true,\n\t\t\t\"is_root_device\": "
                       "false,\n\t\t\t\"path_on_host\": \"" +
                       root + "/rootfs\"\n\t\t}";
  for (int i = 0; i < 8; ++i) {  // createDiskPool: fcDiskPoolSize placeholders
    drives += ",\n\t\t{\n\t\t\t\"drive_id\": \"drive_" + std::to_string(i) +
              "\",\n\t\t\t\"is_read_only\": false,\n\t\t\t\"is_root_device\": false,\n\t\t\t\"path_on_host\": \"" + root +
              "/drive_" + std::to_string(i) + "\"\n\t\t}";
  }
  return "{\n"
         "\t\"boot-source\": {\n\t\t\"boot_args\": \"" + boot_args + "\",\n\t\t\"kernel_image_path\": \"" + root +
         "/vmlinux\"\n\t},\n"
         "\t\"machine-config\": {\n\t\t\"mem_size_mib\": " + std::to_string(mem_mib) +
         ",\n\t\t\"smt\": false,\n\t\t\"vcpu_count\": " + std::to_string(vcpus) + "\n\t},\n"
         "\t\"vsock\": {\n\t\t\"guest_cid\": 3,\n\t\t\"uds_path\": \"" + root +
         "/kata.hvsock\",\n\t\t\"vsock_id\": \"root\"\n\t},\n"
         "\t\"logger\": {\n\t\t\"level\": \"" + std::string(debug ? "Debug" : "Error") + "\",\n\t\t\"log_path\": \"" + root +
         "/logs.fifo\"\n\t},\n"
         "\t\"metrics\": {\n\t\t\"metrics_path\": \"" + root + "/metrics.fifo\"\n\t},\n"
         "\t\"drives\": [\n" + drives + "\n\t]\n"
         "}";
}

// Kata Containers without the jailer: <run>/vc/firecracker/<id>/root holds what fc.go puts there
// (the kernel as vmlinux, the image as rootfs, eight empty drive_N placeholders, the log and
// metrics FIFOs, fcConfig.json; Kata bind-mounts them, copies do here), run/ made beforehand; the
// VMM is started with --api-sock <root>/run/firecracker.socket --config-file <root>/fcConfig.json.
TEST(KataLaunch, Plain) {
  require_kvm();
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/bin");
  const std::string hypervisor = firecracker_link(dir.path() + "/bin", EMBER_BINARY);

  // fcInit: the version check comes first.
  auto version = run_process({hypervisor, "--version"}, 10s);
  ASSERT_EQ(version.exit_code, 0) << version.err;
  ASSERT_TRUE(kata_accepted_version(version.out).has_value()) << "Kata refuses: " << version.out;

  const std::string id = "3f1c0a2b9d8e4f5a6b7c8d9e0f1a2b3c";
  const std::string vm_path = dir.path() + "/vc/firecracker/" + id;
  const std::string root = vm_path + "/root";
  std::filesystem::create_directories(root + "/run");  // fcInitConfiguration's MkdirAll
  std::filesystem::copy_file(guest_path("ticker"), root + "/vmlinux");
  {
    std::ofstream rootfs(root + "/rootfs", std::ios::binary);
    rootfs << std::string(1 << 20, '\0');
  }
  for (int i = 0; i < 8; ++i) std::ofstream(root + "/drive_" + std::to_string(i));  // createJailedDrive: empty
  // fcListenToFifo: O_CREAT|O_RDONLY|O_NONBLOCK, read while the VM runs.
  ASSERT_EQ(::mkfifo((root + "/logs.fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((root + "/metrics.fifo").c_str(), 0600), 0);
  UniqueFd logs(::open((root + "/logs.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  UniqueFd metrics(::open((root + "/metrics.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(logs.valid());
  ASSERT_TRUE(metrics.valid());
  const std::string config = root + "/fcConfig.json";
  std::ofstream(config) << kata_fc_config(root, 1, 128, /*debug=*/false);

  const std::string sock = root + "/run/firecracker.socket";
  BackgroundProcess vmm({hypervisor, "--api-sock", sock, "--config-file", config});
  ASSERT_TRUE(kata_wait_vmm_running(sock)) << vmm.err() << read_file_text(config);
  EXPECT_TRUE(vmm.wait_for_output("tick 1\n", 30s)) << vmm.out();

  // StartVM: the hybrid vsock socket exists and is made 0640.
  EXPECT_EQ(::chmod((root + "/kata.hvsock").c_str(), 0640), 0) << "no vsock socket at " << root << "/kata.hvsock";

  // GetThreadIDs: vCPU threads by their name "fc_vcpu <n>".
  const auto vcpus = kata_vcpu_threads(vmm.pid());
  ASSERT_TRUE(vcpus.has_value()) << describe_threads(thread_names(vmm.pid()));
  ASSERT_EQ(vcpus->size(), 1u) << describe_threads(thread_names(vmm.pid()));
  EXPECT_TRUE(vcpus->contains(0));

  // hotplugBlockDevice: the placeholder's path now holds the real image; PATCH /drives/drive_0.
  {
    std::ofstream image(root + "/drive_0.new", std::ios::binary);
    image << std::string(1 << 20, 'x');
  }
  std::filesystem::rename(root + "/drive_0.new", root + "/drive_0");
  auto patch = api_request(sock, "PATCH", "/drives/drive_0",
                           R"({"drive_id":"drive_0","path_on_host":")" + root + R"(/drive_0"})", 10s);
  ASSERT_TRUE(patch.ok()) << patch.error().message;
  EXPECT_EQ(patch->status, 204) << patch->body;
  // HotplugRemoveDevice: back to the placeholder.
  std::ofstream(root + "/drive_0", std::ios::trunc);
  auto unplug = api_request(sock, "PATCH", "/drives/drive_0",
                            R"({"drive_id":"drive_0","path_on_host":")" + root + R"(/drive_0"})", 10s);
  ASSERT_TRUE(unplug.ok()) << unplug.error().message;
  EXPECT_EQ(unplug->status, 204) << unplug->body;

  // fcEnd: SIGTERM, then wait up to fcStopSandboxTimeout (15 s).
  vmm.send_signal(SIGTERM);
  auto r = vmm.wait(15s);
  EXPECT_FALSE(r.timed_out);
  // updateMetrics: each line of the metrics FIFO is one JSON object.
  const std::string lines = drain_fifo(metrics.get());
  ASSERT_FALSE(lines.empty()) << "nothing on the metrics FIFO";
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    EXPECT_TRUE(json::parse(line, nullptr, false).is_object()) << line;
  }
}

// firectl --firecracker-binary=<fc> --kernel=K --root-drive=R --disable-smt (its other defaults:
// 1 vCPU, 512 MiB, kernel options "ro console=ttyS0 noapic reboot=k panic=1 pci=off nomodules",
// no logger, no metrics), as firecracker-go-sdk runs it: `<fc> --api-sock S --id <uuid>
// --no-seccomp` (configureBuilder, seccompArgs with Seccomp disabled), GET /machine-config until
// it answers (waitForSocket), PUT and GET /machine-config, PUT /boot-source, PUT /drives/1,
// InstanceStart; StopVMM sends SIGTERM.
TEST(FirectlLaunch, DefaultFlags) {
  require_kvm();
  TempDir dir;
  const std::string fc = firecracker_link(dir.path(), EMBER_BINARY);
  const std::string rootfs = dir.write("rootfs.ext4", std::string(1 << 20, '\0'));
  const std::string sock = dir.path() + "/.firecracker.sock-4242-81";
  const std::string vmid = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  BackgroundProcess vmm({fc, "--api-sock", sock, "--id", vmid, "--no-seccomp"});

  bool answered = false;
  for (int i = 0; i < 300 && !answered; ++i) {
    auto r = api_request(sock, "GET", "/machine-config", "", 1s);
    answered = r.ok() && r->status == 200;
    if (!answered) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(answered) << vmm.err();
  auto put = [&](const std::string& path, const std::string& body) {
    auto r = api_request(sock, "PUT", path, body, 10s);
    EXPECT_TRUE(r.ok()) << path;
    if (!r.ok()) return 0;
    EXPECT_EQ(r->status, 204) << path << ": " << r->body;
    return r->status;
  };
  put("/machine-config", R"({"mem_size_mib":512,"smt":false,"vcpu_count":1})");
  auto cfg = api_request(sock, "GET", "/machine-config", "", 10s);
  ASSERT_TRUE(cfg.ok());
  const json machine = json::parse(cfg->body);
  EXPECT_EQ(machine["vcpu_count"], 1);
  EXPECT_EQ(machine["mem_size_mib"], 512);
  put("/boot-source", R"({"boot_args":"ro console=ttyS0 noapic reboot=k panic=1 pci=off nomodules","kernel_image_path":")" +
                          guest_path("ticker") + R"("})");
  put("/drives/1", R"({"drive_id":"1","is_read_only":false,"is_root_device":true,"path_on_host":")" + rootfs + R"("})");
  put("/actions", R"({"action_type":"InstanceStart"})");
  EXPECT_TRUE(vmm.wait_for_output("tick 1\n", 30s)) << vmm.out() << vmm.err();
  // The VM's id is the one given (go-sdk reads it back as InstanceInfo.id).
  auto info = api_request(sock, "GET", "/", "", 10s);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(json::parse(info->body)["id"], vmid) << info->body;
  vmm.send_signal(SIGTERM);
  EXPECT_FALSE(vmm.wait(10s).timed_out);
}

// flintlock's Create: `<fc> --id <uid> --boot-timer --no-api --config-file <state>/firecracker.cfg`
// (`--metadata <state>/metadata.json` dropped: MMDS is another issue), stdout and stderr to files
// in the state directory, stdin empty. The config is what CreateConfig writes (types.go field
// order), without "mmds-config" (MMDS), with "smt": true as flintlock writes it on x86_64.
TEST(FlintlockLaunch, Create) {
  require_kvm();
  TempDir dir;
  const std::string fc = firecracker_link(dir.path(), EMBER_BINARY);
  const std::string state = dir.path() + "/vm/ns1/mvm1/01HXYZ";
  std::filesystem::create_directories(state);
  std::filesystem::create_directories(dir.path() + "/volumes");
  const std::string root_volume = dir.path() + "/volumes/root.img";
  std::ofstream(root_volume, std::ios::binary) << std::string(1 << 20, '\0');
  // flintlock's ensureState makes the log and metrics files.
  std::ofstream(state + "/firecracker.log");
  std::ofstream(state + "/firecracker.metrics");
  const json config = {
      {"drives", json::array({{{"drive_id", "root"},
                               {"path_on_host", root_volume},
                               {"is_root_device", true},
                               {"is_read_only", false},
                               {"cache_type", "Unsafe"}}})},
      {"boot-source",
       {{"kernel_image_path", guest_path("boottime")},
        {"boot_args",
         "console=ttyS0 ds=nocloud-net;s=http://169.254.169.254/latest/ i8042.dumbkbd i8042.noaux i8042.nomux "
         "i8042.nopnp panic=1 pci=off reboot=k"}}},
      {"logger",
       {{"log_path", state + "/firecracker.log"}, {"level", "Debug"}, {"show_level", true}, {"show_log_origin", true}}},
      {"machine-config", {{"vcpu_count", 2}, {"mem_size_mib", 128}, {"smt", true}, {"track_dirty_pages", false}}},
      {"metrics", {{"metrics_path", state + "/firecracker.metrics"}}},
      {"network-interfaces", json::array()},
      {"vsock", {{"vsock_id", "guest-agent"}, {"guest_cid", 3}, {"uds_path", state + "/guest-agent.vsock"}}},
  };
  std::ofstream(state + "/firecracker.cfg") << config.dump();

  const std::string uid = "01HXYZABCDEFGHJKMNPQRSTVWX";
  BackgroundProcess vmm(
      {fc, "--id", uid, "--boot-timer", "--no-api", "--config-file", state + "/firecracker.cfg"});
  ASSERT_TRUE(vmm.wait_for_output("READY\n", 30s)) << vmm.out() << vmm.err();
  // The logger of the config file took over: the boot timer's line is in flintlock's log file.
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    logged = read_file_text(state + "/firecracker.log").find("Guest-boot-time") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(logged) << read_file_text(state + "/firecracker.log") << vmm.err();
  EXPECT_NE(read_file_text(state + "/firecracker.log").find("[" + uid + ":"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(state + "/guest-agent.vsock"));
  vmm.send_signal(SIGTERM);
  EXPECT_FALSE(vmm.wait(10s).timed_out);
}

}  // namespace
}  // namespace ember::test
