// The controller without KVM: a factory of test doubles stands in for build_vm/restore_vm, so
// what each action does before and after InstanceStart, what it refuses and with which error
// kind, and what it hands the VM are all visible here.
#include "vmm/controller/controller.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace ember {
namespace {

// What the doubles saw, in order.
struct Calls {
  std::vector<std::string> log;
  std::optional<VmConfig> built_with;
  std::optional<SnapshotLoadParams> restored_from;
};

class FakeVm final : public Vm {
 public:
  FakeVm(VmConfig config, Calls& calls) : config_(std::move(config)), calls_(calls) {}
  void start() override { calls_.log.push_back("start"); }
  void pause() override { calls_.log.push_back("pause"); }
  void resume() override { calls_.log.push_back("resume"); }
  Result<void> send_ctrl_alt_del() override {
    calls_.log.push_back("ctrl-alt-del");
    return {};
  }
  Result<void> update_drive(const std::string& drive_id, const std::optional<std::string>& path_on_host,
                            const std::optional<RateLimiterConfig>&) override {
    for (auto& d : config_.drives) {
      if (d.drive_id != drive_id) continue;
      if (path_on_host) d.path_on_host = *path_on_host;
      calls_.log.push_back("update-drive " + drive_id);
      return {};
    }
    return make_error("no drive " + drive_id);
  }
  Result<void> update_net_rate_limiters(const std::string& iface_id, const std::optional<RateLimiterConfig>&,
                                        const std::optional<RateLimiterConfig>&) override {
    calls_.log.push_back("update-net " + iface_id);
    return {};
  }
  void stop() override { calls_.log.push_back("stop"); }
  Result<void> create_snapshot(const SnapshotCreateParams& params) override {
    calls_.log.push_back("snapshot " + params.snapshot_path);
    return {};
  }
  const VmConfig& config() const override { return config_; }
  VmCounters counters() const override { return {}; }

 private:
  VmConfig config_;
  Calls& calls_;
};

class FakeFactory final : public VmFactory {
 public:
  explicit FakeFactory(Calls& calls) : calls_(calls) {}
  Result<std::unique_ptr<Vm>> build(const VmOptions& options, EventLoop&, ExitSignal&) override {
    calls_.built_with = options.config;
    if (fail_build) return make_error(ErrorKind::kHost, "no KVM here");
    return std::unique_ptr<Vm>(std::make_unique<FakeVm>(options.config, calls_));
  }
  Result<std::unique_ptr<Vm>> restore(const SnapshotLoadParams& params, const VmOptions&, EventLoop&,
                                      ExitSignal&) override {
    calls_.restored_from = params;
    VmConfig saved;
    saved.machine.vcpu_count = 3;
    return std::unique_ptr<Vm>(std::make_unique<FakeVm>(saved, calls_));
  }
  Result<void> start(Vm& vm, bool leave_paused) override {
    calls_.log.push_back(leave_paused ? "confined-paused" : "confined");
    if (fail_start) return make_error("filter refused");
    vm.start();
    return {};
  }
  bool fail_build = false;
  bool fail_start = false;

 private:
  Calls& calls_;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ember-controller-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    kernel_ = dir_ + "/vmlinux";
    disk_ = dir_ + "/disk.img";
    std::ofstream(kernel_) << "kernel";
    std::ofstream(disk_) << "disk";
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok()) << loop.error().message;
    loop_.emplace(std::move(loop).value());
    auto exit = ExitSignal::create();
    ASSERT_TRUE(exit.ok()) << exit.error().message;
    exit_ = std::move(exit).value();
    metrics_ = std::make_unique<Metrics>(*loop_, Metrics::Sources{}, std::chrono::steady_clock::now());
    ControllerOptions options;
    options.instance_id = "unit-vm";
    controller_ = std::make_unique<Controller>(options, *loop_, *exit_, *metrics_, factory_);
  }
  void TearDown() override {
    controller_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ActionResult run(const VmmAction& action) { return controller_->handle(action); }
  void ok(const VmmAction& action) {
    auto r = run(action);
    ASSERT_TRUE(r.ok()) << action_name(action) << ": " << r.error().message;
  }
  template <class T>
  T get(const VmmAction& action) {
    auto r = run(action);
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(std::holds_alternative<T>(*r));
    return std::get<T>(*r);
  }
  void refused(const VmmAction& action, ErrorKind kind, const std::string& needle) {
    auto r = run(action);
    ASSERT_FALSE(r.ok()) << action_name(action) << " was accepted";
    EXPECT_EQ(r.error().kind, kind) << r.error().message;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }
  PutBootSource boot_source() const { return PutBootSource{BootSourceConfig{kernel_, "console=ttyS0", {}, {}}}; }
  PutDrive drive(const std::string& id, bool root = false) const {
    DriveConfig d;
    d.drive_id = id;
    d.path_on_host = disk_;
    d.is_root_device = root;
    return PutDrive{d};
  }
  InstanceState state() { return get<InstanceInfo>(GetInstanceInfo{}).state; }

  std::string dir_, kernel_, disk_;
  Calls calls_;
  FakeFactory factory_{calls_};
  std::optional<EventLoop> loop_;
  std::unique_ptr<ExitSignal> exit_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerTest, TheDraftGoesToTheVmAndTheVmsConfigurationIsShownAfter) {
  ok(PutMachineConfig{MachineConfig{2, 256, false, false}});
  ok(boot_source());
  ok(drive("rootfs", true));
  EXPECT_EQ(get<MachineConfig>(GetMachineConfig{}).vcpu_count, 2u);
  EXPECT_EQ(state(), InstanceState::kNotStarted);

  ok(InstanceStart{});
  ASSERT_TRUE(calls_.built_with.has_value());
  EXPECT_EQ(calls_.built_with->machine.mem_size_mib, 256u);
  ASSERT_EQ(calls_.built_with->drives.size(), 1u);
  EXPECT_EQ(calls_.log, (std::vector<std::string>{"confined", "start"}));
  EXPECT_EQ(state(), InstanceState::kRunning);

  // One configuration: a PATCH reaches the VM, and GET /vm/config shows the VM's.
  ok(PatchDrive{"rootfs", dir_ + "/other.img", {}});
  const FullVmConfig full = get<FullVmConfig>(GetVmConfig{});
  ASSERT_EQ(full.drives.size(), 1u);
  EXPECT_EQ(full.drives[0].path_on_host, dir_ + "/other.img");
  EXPECT_EQ(full.machine.vcpu_count, 2u);
}

TEST_F(ControllerTest, ActionsInTheWrongStateAreRefusedWithNothingChanged) {
  for (const VmmAction& a : std::vector<VmmAction>{PatchVm{RequestedVmState::kPaused}, SendCtrlAltDel{},
                                                   FlushMetrics{}, PatchDrive{"rootfs", {}, {}},
                                                   PatchNetworkInterface{"eth0", {}, {}}})
    refused(a, ErrorKind::kState, "The requested operation is not supported before starting the microVM.");
  refused(CreateSnapshot{}, ErrorKind::kState, "The requested operation is not supported before starting the microVM.");
  refused(InstanceStart{}, ErrorKind::kState, "Cannot start microvm without kernel configuration.");
  EXPECT_FALSE(calls_.built_with.has_value());

  ok(boot_source());
  ok(InstanceStart{});
  for (const VmmAction& a : std::vector<VmmAction>{PutMachineConfig{MachineConfig{}}, boot_source(), drive("d2"),
                                                   PutVsock{VsockConfig{3, dir_ + "/v.sock", {}}},
                                                   PutLogger{}, PutMetrics{MetricsConfig{dir_ + "/m"}},
                                                   InstanceStart{}})
    refused(a, ErrorKind::kState, "The requested operation is not supported after starting the microVM.");
  refused(LoadSnapshot{}, ErrorKind::kState, "The requested operation is not supported after starting the microVM.");
  refused(CreateSnapshot{}, ErrorKind::kState, "save/restore unavailable while running");
  // Firecracker takes a drive PATCH with neither field for a vhost-user drive's.
  refused(PatchDrive{"rootfs", {}, {}}, ErrorKind::kInvalid, "Running method expected different backend.");
  EXPECT_TRUE(get<FullVmConfig>(GetVmConfig{}).drives.empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/m"));
}

// Firecracker's NetBuilder::build, as test_net_api_put_update_pre_boot shows it: a MAC another
// interface holds is refused with nothing changed; an update that fails after that check drops
// the interface it was to replace (its MAC is then free); a multicast MAC is accepted.
TEST_F(ControllerTest, NetworkInterfaceUpdatesFollowFirecracker) {
  auto iface = [](const std::string& id, const std::string& tap, MacAddress mac) {
    NetworkInterfaceConfig n;
    n.iface_id = id;
    n.host_dev_name = tap;
    n.guest_mac = mac;
    return PutNetworkInterface{n};
  };
  auto ids = [this] {
    std::vector<std::string> out;
    for (const auto& n : get<FullVmConfig>(GetVmConfig{}).network_interfaces) out.push_back(n.iface_id);
    return out;
  };
  const MacAddress mac1{0x06, 0, 0, 0, 0, 1};
  ok(iface("1", "tap1", mac1));
  ok(iface("2", "tap2", MacAddress{0x07, 0, 0, 0, 0, 1}));  // multicast: bit 0 of the first byte
  refused(iface("2", "tap2", mac1), ErrorKind::kInvalid,
          "Network config error: The MAC address is already in use: 06:00:00:00:00:01");
  EXPECT_EQ(ids(), (std::vector<std::string>{"1", "2"}));
  ok(iface("2", "tap2", MacAddress{0x08, 0, 0, 0, 0, 1}));
  refused(iface("1", "tap2", mac1), ErrorKind::kInvalid, "Could not create the network device");
  EXPECT_EQ(ids(), (std::vector<std::string>{"2"})) << "the failed update dropped interface 1";
  ok(iface("3", "tap3", mac1));
  EXPECT_EQ(ids(), (std::vector<std::string>{"2", "3"}));
}

TEST_F(ControllerTest, BadConfigurationIsRefusedByKindAndTheDraftKeepsItsValue) {
  ok(PutMachineConfig{MachineConfig{2, 256, false, false}});
  refused(PutMachineConfig{MachineConfig{0, 256, false, false}}, ErrorKind::kInvalid, "vcpu_count");
  refused(PatchMachineConfig{kMaxVcpus + 1, {}, {}, {}}, ErrorKind::kInvalid, "vcpu_count");
  EXPECT_EQ(get<MachineConfig>(GetMachineConfig{}).vcpu_count, 2u);

  refused(PutBootSource{BootSourceConfig{dir_ + "/missing", {}, {}, {}}}, ErrorKind::kHost,
          "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)");
  ok(drive("rootfs", true));
  refused(drive("second", true), ErrorKind::kInvalid, "A root block device already exists!");
  EXPECT_EQ(get<FullVmConfig>(GetVmConfig{}).drives.size(), 1u);
  EXPECT_FALSE(get<FullVmConfig>(GetVmConfig{}).boot_source.has_value());
}

TEST_F(ControllerTest, AVmThatCannotBeBuiltOrConfinedIsNotKept) {
  ok(boot_source());
  factory_.fail_build = true;
  refused(InstanceStart{}, ErrorKind::kHost, "Start microvm error: no KVM here");
  EXPECT_EQ(state(), InstanceState::kNotStarted);

  factory_.fail_build = false;
  factory_.fail_start = true;
  refused(InstanceStart{}, ErrorKind::kInvalid, "InstanceStart: filter refused");
  EXPECT_EQ(calls_.log, (std::vector<std::string>{"confined", "stop"}));
  EXPECT_EQ(state(), InstanceState::kNotStarted);
  // The draft is still there: a later start may succeed.
  factory_.fail_start = false;
  ok(InstanceStart{});
  EXPECT_EQ(state(), InstanceState::kRunning);
}

TEST_F(ControllerTest, PauseResumeAndSnapshotReachTheVm) {
  ok(boot_source());
  ok(InstanceStart{});
  ok(PatchVm{RequestedVmState::kPaused});
  EXPECT_EQ(state(), InstanceState::kPaused);
  ok(PatchVm{RequestedVmState::kPaused});  // already paused: nothing more to do
  ok(CreateSnapshot{SnapshotCreateParams{SnapshotType::kFull, dir_ + "/s", dir_ + "/m"}});
  ok(PatchVm{RequestedVmState::kResumed});
  ok(SendCtrlAltDel{});
  EXPECT_EQ(calls_.log, (std::vector<std::string>{"confined", "start", "pause", "snapshot " + dir_ + "/s",
                                                   "resume", "ctrl-alt-del"}));
}

TEST_F(ControllerTest, ASnapshotLoadsOnlyIntoAFreshControllerAndBringsItsConfiguration) {
  SnapshotLoadParams params;
  params.snapshot_path = dir_ + "/s";
  params.resume_vm = false;
  ok(LoadSnapshot{params});
  ASSERT_TRUE(calls_.restored_from.has_value());
  EXPECT_EQ(calls_.restored_from->snapshot_path, dir_ + "/s");
  EXPECT_EQ(calls_.log, (std::vector<std::string>{"confined-paused", "start"}));
  EXPECT_EQ(state(), InstanceState::kPaused);
  EXPECT_EQ(get<MachineConfig>(GetMachineConfig{}).vcpu_count, 3u);  // the snapshot's
}

TEST_F(ControllerTest, NoSnapshotLoadAfterBootSpecificConfiguration) {
  ok(PutMachineConfig{MachineConfig{1, 128, false, false}});
  refused(LoadSnapshot{}, ErrorKind::kState, "not allowed after configuring boot-specific resources");
  EXPECT_FALSE(calls_.restored_from.has_value());
}

TEST_F(ControllerTest, LoggerAndMetricsAreNotBootSpecific) {
  ok(PutMetrics{MetricsConfig{dir_ + "/metrics"}});
  ok(LoadSnapshot{});
  EXPECT_TRUE(calls_.restored_from.has_value());
}

// Every alternative of VmmAction, default-constructed, gets an answer: nothing falls through.
template <size_t... I>
void run_every_action(Controller& c, std::index_sequence<I...>) {
  (void(c.handle(VmmAction{std::in_place_index<I>})), ...);
}

TEST_F(ControllerTest, EveryActionTypeIsAnswered) {
  run_every_action(*controller_, std::make_index_sequence<std::variant_size_v<VmmAction>>{});
  EXPECT_EQ(state(), InstanceState::kNotStarted);  // defaults configure nothing that could start
}

}  // namespace
}  // namespace ember
