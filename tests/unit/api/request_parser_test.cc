// Routing: every endpoint and method ember serves parses to the right action with the right
// fields; defaults follow firecracker-api-v1.16.1.yaml.
#include "api/request_parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/response.h"

namespace ember {
namespace {

// Parses a request that must be valid and returns the action of type A it must have made.
template <class A>
A parse_ok(std::string_view method, std::string_view target, std::string_view body = "") {
  auto action = parse_api_request(method, target, body);
  EXPECT_TRUE(action.ok()) << method << " " << target << ": " << action.error().message;
  if (!action.ok()) return A{};
  EXPECT_TRUE(std::holds_alternative<A>(*action)) << method << " " << target << " made " << action_name(*action);
  if (!std::holds_alternative<A>(*action)) return A{};
  return std::get<A>(*action);
}

// A drive whose optional fields were all left out.
void expect_drive_defaults(const DriveConfig& d) {
  EXPECT_FALSE(d.is_read_only);
  EXPECT_FALSE(d.partuuid);
  EXPECT_EQ(d.cache_type, DriveCacheType::kUnsafe);
  EXPECT_EQ(d.io_engine, DriveIoEngine::kSync);
  EXPECT_FALSE(d.rate_limiter);
}

TEST(ApiRouting, GetEndpoints) {
  parse_ok<GetInstanceInfo>("GET", "/");
  parse_ok<GetVersion>("GET", "/version");
  parse_ok<GetMachineConfig>("GET", "/machine-config");
  parse_ok<GetVmConfig>("GET", "/vm/config");
}

TEST(ApiRouting, Mmds) {
  parse_ok<GetMmds>("GET", "/mmds");
  // Any JSON value is data; PATCH carries a merge patch as given.
  EXPECT_EQ(parse_ok<PutMmds>("PUT", "/mmds", R"({"latest": {"meta-data": {"ami-id": "a"}}})").data["latest"]["meta-data"]["ami-id"], "a");
  EXPECT_EQ(parse_ok<PutMmds>("PUT", "/mmds", R"("just a string")").data, "just a string");
  EXPECT_TRUE(parse_ok<PatchMmds>("PATCH", "/mmds", R"({"a": null})").patch["a"].is_null());
  // The user's data may nest as deep as serde_json reads (128), unlike the API's own bodies.
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  parse_ok<PutMmds>("PUT", "/mmds", deep);
  EXPECT_FALSE(parse_api_request("PUT", "/mmds", std::string(129, '[') + std::string(129, ']')).ok());
  EXPECT_FALSE(parse_api_request("PUT", "/drives/x", deep).ok());
  EXPECT_FALSE(parse_api_request("PUT", "/mmds", "{not json").ok());
  EXPECT_FALSE(parse_api_request("PUT", "/mmds", "").ok());

  const MmdsConfig m = parse_ok<PutMmdsConfig>(
      "PUT", "/mmds/config",
      R"({"version": "V2", "network_interfaces": ["eth0", "eth1"], "ipv4_address": "169.254.170.2", "imds_compat": true})")
                           .config;
  EXPECT_EQ(m.version, MmdsVersion::kV2);
  EXPECT_EQ(m.network_interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(m.ipv4_address, (Ipv4Octets{169, 254, 170, 2}));
  EXPECT_TRUE(m.imds_compat);
  const MmdsConfig d = parse_ok<PutMmdsConfig>("PUT", "/mmds/config", R"({"network_interfaces": ["eth0"]})").config;
  EXPECT_EQ(d.version, MmdsVersion::kV1) << "Firecracker's default";
  EXPECT_FALSE(d.ipv4_address);
  EXPECT_FALSE(d.imds_compat);
  // V1, given or by default, is deprecated as Firecracker says; V2 is not.
  auto info = parse_api_request_with_info("PUT", "/mmds/config", R"({"network_interfaces": ["eth0"]})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->deprecation, "PUT /mmds/config: V1 is deprecated. Use V2 instead.");
  info = parse_api_request_with_info("PUT", "/mmds/config", R"({"network_interfaces": ["eth0"], "version": "V2"})");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->deprecation);

  struct Bad {
    const char* body;
    const char* says;
  };
  for (const Bad& b : {Bad{R"({"version": "V2"})", "missing field `network_interfaces`"},
                       Bad{R"({"network_interfaces": ["eth0"], "version": "V3"})", "unknown variant `V3`, expected `V1` or `V2`"},
                       Bad{R"({"network_interfaces": [1]})", "invalid type: integer `1`, expected a string"},
                       Bad{R"({"network_interfaces": "eth0"})", "invalid type"},
                       Bad{R"({"network_interfaces": ["eth0"], "ipv4_address": "169.254.999.1"})", "invalid IPv4 address syntax"},
                       Bad{R"({"network_interfaces": ["eth0"], "imds_compat": "yes"})", "invalid type"},
                       Bad{R"({"network_interfaces": ["eth0"], "allow": 1})", "unknown field `allow`"}}) {
    auto r = parse_api_request("PUT", "/mmds/config", b.body);
    ASSERT_FALSE(r.ok()) << b.body;
    EXPECT_NE(r.error().message.find(b.says), std::string::npos) << b.body << " -> " << r.error().message;
  }
}

TEST(ApiRouting, GetIgnoresBodyQueryAndEmptySegments) {
  parse_ok<GetVersion>("GET", "/version", "this is not JSON");
  parse_ok<GetVersion>("GET", "/version?pretty=1");
  parse_ok<GetVmConfig>("GET", "//vm//config/");
  parse_ok<GetInstanceInfo>("GET", "http://localhost/");
  parse_ok<GetMachineConfig>("GET", "http://localhost/machine-config");
}

TEST(ApiRouting, PutMachineConfig) {
  auto a = parse_ok<PutMachineConfig>(
      "PUT", "/machine-config",
      R"({"vcpu_count": 2, "mem_size_mib": 1024, "smt": false, "track_dirty_pages": true, "cpu_template": "None"})");
  EXPECT_EQ(a.config.vcpu_count, 2u);
  EXPECT_EQ(a.config.mem_size_mib, 1024u);
  EXPECT_FALSE(a.config.smt);
  EXPECT_TRUE(a.config.track_dirty_pages);

  auto defaults = parse_ok<PutMachineConfig>("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})");
  EXPECT_FALSE(defaults.config.smt);
  EXPECT_FALSE(defaults.config.track_dirty_pages);
}

TEST(ApiRouting, PatchMachineConfigTakesAnySubset) {
  auto a = parse_ok<PatchMachineConfig>("PATCH", "/machine-config", R"({"mem_size_mib": 256})");
  EXPECT_EQ(a.mem_size_mib, 256u);
  EXPECT_FALSE(a.vcpu_count);
  EXPECT_FALSE(a.smt);
  EXPECT_FALSE(a.track_dirty_pages);

  auto b = parse_ok<PatchMachineConfig>("PATCH", "/machine-config",
                                        R"({"vcpu_count": 4, "smt": false, "track_dirty_pages": true})");
  EXPECT_EQ(b.vcpu_count, 4u);
  EXPECT_EQ(b.smt, false);
  EXPECT_EQ(b.track_dirty_pages, true);
  EXPECT_FALSE(b.mem_size_mib);

  auto none = parse_ok<PatchMachineConfig>("PATCH", "/machine-config", R"({"cpu_template": "None"})");
  EXPECT_FALSE(none.vcpu_count || none.mem_size_mib || none.smt || none.track_dirty_pages);
  EXPECT_EQ(none.cpu_template, StaticCpuTemplate::kNone);
}

TEST(ApiRouting, PutBootSource) {
  auto a = parse_ok<PutBootSource>(
      "PUT", "/boot-source",
      R"({"kernel_image_path": "/k/vmlinux", "boot_args": "console=ttyS0", "initrd_path": "/k/initrd"})");
  EXPECT_EQ(a.config.kernel_image_path, "/k/vmlinux");
  EXPECT_EQ(a.config.boot_args, "console=ttyS0");
  EXPECT_EQ(a.config.initrd_path, "/k/initrd");

  EXPECT_EQ(a.config.bzimage_load, BzImageMode::kAuto);

  auto minimal = parse_ok<PutBootSource>("PUT", "/boot-source", R"({"kernel_image_path": "/k"})");
  EXPECT_FALSE(minimal.config.boot_args);
  EXPECT_FALSE(minimal.config.initrd_path);

  // ember's extension: where a bzImage's payload is decompressed.
  EXPECT_EQ(parse_ok<PutBootSource>("PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "guest"})")
                .config.bzimage_load,
            BzImageMode::kGuest);
  EXPECT_EQ(parse_ok<PutBootSource>("PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "host"})")
                .config.bzimage_load,
            BzImageMode::kHost);
}

// Every optional field given as null is the same as the field left out (serde's Option, which
// Firecracker's API uses), in every body.
TEST(ApiRouting, NullIsAbsentInEveryOptionalField) {
  auto boot = parse_ok<PutBootSource>("PUT", "/boot-source", R"({"kernel_image_path": "/k", "boot_args": null,
      "initrd_path": null, "bzimage_load": null})");
  EXPECT_EQ(boot.config.kernel_image_path, "/k");
  EXPECT_FALSE(boot.config.boot_args);
  EXPECT_FALSE(boot.config.initrd_path);
  EXPECT_EQ(boot.config.bzimage_load, BzImageMode::kAuto);

  auto machine = parse_ok<PutMachineConfig>("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256,
      "smt": null, "track_dirty_pages": null, "cpu_template": null, "huge_pages": null})");
  EXPECT_EQ(machine.config.vcpu_count, 2u);
  EXPECT_EQ(machine.config.mem_size_mib, 256u);
  EXPECT_FALSE(machine.config.smt);
  EXPECT_FALSE(machine.config.track_dirty_pages);

  auto patch = parse_ok<PatchMachineConfig>("PATCH", "/machine-config", R"({"vcpu_count": null, "mem_size_mib": 64,
      "smt": null, "track_dirty_pages": null, "cpu_template": null, "huge_pages": null})");
  EXPECT_FALSE(patch.vcpu_count || patch.smt || patch.track_dirty_pages);
  EXPECT_EQ(patch.mem_size_mib, 64u);

  auto drive = parse_ok<PutDrive>("PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d",
      "is_root_device": false, "is_read_only": null, "partuuid": null, "cache_type": null, "io_engine": null,
      "rate_limiter": null, "socket": null})");
  expect_drive_defaults(drive.config);

  auto limited = parse_ok<PutDrive>("PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d",
      "is_root_device": false, "rate_limiter": {"bandwidth": null,
      "ops": {"size": 5, "one_time_burst": null, "refill_time": 10}}})");
  ASSERT_TRUE(limited.config.rate_limiter);
  EXPECT_FALSE(limited.config.rate_limiter->bandwidth);
  ASSERT_TRUE(limited.config.rate_limiter->ops);
  EXPECT_EQ(limited.config.rate_limiter->ops->one_time_burst, 0u);

  auto patch_drive = parse_ok<PatchDrive>("PATCH", "/drives/x",
                                          R"({"drive_id": "x", "path_on_host": "/n", "rate_limiter": null})");
  EXPECT_FALSE(patch_drive.rate_limiter);

  auto iface = parse_ok<PutNetworkInterface>("PUT", "/network-interfaces/e", R"({"iface_id": "e",
      "host_dev_name": "tap0", "guest_mac": null, "mtu": null, "rx_rate_limiter": null, "tx_rate_limiter": null})");
  EXPECT_FALSE(iface.config.guest_mac);
  EXPECT_FALSE(iface.config.mtu);
  EXPECT_FALSE(iface.config.rx_rate_limiter);
  EXPECT_FALSE(iface.config.tx_rate_limiter);

  auto patch_iface = parse_ok<PatchNetworkInterface>(
      "PATCH", "/network-interfaces/e", R"({"iface_id": "e", "rx_rate_limiter": null, "tx_rate_limiter": {}})");
  EXPECT_FALSE(patch_iface.rx_rate_limiter);
  EXPECT_TRUE(patch_iface.tx_rate_limiter);

  EXPECT_FALSE(parse_ok<PutVsock>("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/v", "vsock_id": null})")
                   .config.vsock_id);

  auto logger = parse_ok<PutLogger>("PUT", "/logger", R"({"log_path": null, "level": null, "show_level": null,
      "show_log_origin": null, "module": null})");
  EXPECT_FALSE(logger.config.log_path || logger.config.level || logger.config.show_level ||
               logger.config.show_log_origin || logger.config.module);

  EXPECT_EQ(parse_ok<CreateSnapshot>("PUT", "/snapshot/create",
                                     R"({"snapshot_type": null, "snapshot_path": "/s", "mem_file_path": "/m"})")
                .params.snapshot_type,
            SnapshotType::kFull);

  auto load = parse_ok<LoadSnapshot>("PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": null,
      "mem_backend": {"backend_type": "File", "backend_path": "/m"}, "enable_diff_snapshots": null,
      "track_dirty_pages": null, "resume_vm": null, "network_overrides": null, "vsock_override": null,
      "clock_realtime": null})");
  EXPECT_EQ(load.params.mem_backend.backend_path, "/m");
  EXPECT_FALSE(load.params.track_dirty_pages || load.params.resume_vm || load.params.clock_realtime);
  EXPECT_TRUE(load.params.network_overrides.empty());
  EXPECT_FALSE(load.params.vsock_override);
}

// GET /vm/config reports absent optional fields as null; each section it reports parses back as
// the body of its PUT.
TEST(ApiRouting, ReportedBootSourceAndMachineConfigParseBack) {
  FullVmConfig config;
  config.boot_source = BootSourceConfig{"/k", std::nullopt, std::nullopt, BzImageMode::kGuest};
  config.machine = MachineConfig{4, 512, false, true};
  const nlohmann::json report = nlohmann::json::parse(vm_config_json(config));

  auto boot = parse_ok<PutBootSource>("PUT", "/boot-source", report["boot-source"].dump());
  EXPECT_EQ(boot.config.kernel_image_path, "/k");
  EXPECT_FALSE(boot.config.boot_args);
  EXPECT_FALSE(boot.config.initrd_path);
  EXPECT_EQ(boot.config.bzimage_load, BzImageMode::kGuest);

  auto machine = parse_ok<PutMachineConfig>("PUT", "/machine-config", report["machine-config"].dump());
  EXPECT_EQ(machine.config.vcpu_count, 4u);
  EXPECT_EQ(machine.config.mem_size_mib, 512u);
  EXPECT_FALSE(machine.config.smt);
  EXPECT_TRUE(machine.config.track_dirty_pages);
  EXPECT_TRUE(validate_machine_config(machine.config, 16ull << 30).ok());
}

TEST(ApiRouting, PutDriveWithEveryField) {
  auto a = parse_ok<PutDrive>("PUT", "/drives/rootfs", R"({
      "drive_id": "rootfs", "path_on_host": "/img/rootfs.ext4", "is_root_device": true,
      "is_read_only": true, "partuuid": "0eaa91a0-01", "cache_type": "Writeback", "io_engine": "Async",
      "rate_limiter": {"bandwidth": {"size": 1000, "one_time_burst": 50, "refill_time": 100},
                       "ops": {"size": 10, "refill_time": 1000}}})");
  const DriveConfig& d = a.config;
  EXPECT_EQ(d.drive_id, "rootfs");
  EXPECT_EQ(d.path_on_host, "/img/rootfs.ext4");
  EXPECT_TRUE(d.is_root_device);
  EXPECT_TRUE(d.is_read_only);
  EXPECT_EQ(d.partuuid, "0eaa91a0-01");
  EXPECT_EQ(d.cache_type, DriveCacheType::kWriteback);
  EXPECT_EQ(d.io_engine, DriveIoEngine::kAsync);
  ASSERT_TRUE(d.rate_limiter);
  ASSERT_TRUE(d.rate_limiter->bandwidth);
  EXPECT_EQ(d.rate_limiter->bandwidth->size, 1000u);
  EXPECT_EQ(d.rate_limiter->bandwidth->one_time_burst, 50u);
  EXPECT_EQ(d.rate_limiter->bandwidth->refill_time_ms, 100u);
  ASSERT_TRUE(d.rate_limiter->ops);
  EXPECT_EQ(d.rate_limiter->ops->size, 10u);
  EXPECT_EQ(d.rate_limiter->ops->one_time_burst, 0u);
  EXPECT_EQ(d.rate_limiter->ops->refill_time_ms, 1000u);
}

TEST(ApiRouting, PutDriveDefaults) {
  auto a = parse_ok<PutDrive>("PUT", "/drives/data_1",
                              R"({"drive_id": "data_1", "path_on_host": "/d", "is_root_device": false})");
  expect_drive_defaults(a.config);
  // null is the same as absent.
  auto b = parse_ok<PutDrive>("PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d",
      "is_root_device": false, "partuuid": null, "rate_limiter": null})");
  EXPECT_FALSE(b.config.partuuid);
  EXPECT_FALSE(b.config.rate_limiter);
}

TEST(ApiRouting, PatchDrive) {
  auto a = parse_ok<PatchDrive>("PATCH", "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": "/new"})");
  EXPECT_EQ(a.drive_id, "rootfs");
  EXPECT_EQ(a.path_on_host, "/new");
  EXPECT_FALSE(a.rate_limiter);
  auto b = parse_ok<PatchDrive>("PATCH", "/drives/rootfs",
                                R"({"drive_id": "rootfs", "rate_limiter": {"ops": {"size": 5, "refill_time": 10}}})");
  EXPECT_FALSE(b.path_on_host);
  ASSERT_TRUE(b.rate_limiter);
  EXPECT_FALSE(b.rate_limiter->bandwidth);
  EXPECT_EQ(b.rate_limiter->ops->size, 5u);
}

TEST(ApiRouting, PutNetworkInterface) {
  auto a = parse_ok<PutNetworkInterface>("PUT", "/network-interfaces/eth0", R"({
      "iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01", "mtu": 1500,
      "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 2}}, "tx_rate_limiter": {}})");
  const NetworkInterfaceConfig& n = a.config;
  EXPECT_EQ(n.iface_id, "eth0");
  EXPECT_EQ(n.host_dev_name, "tap0");
  ASSERT_TRUE(n.guest_mac);
  EXPECT_EQ(*n.guest_mac, (MacAddress{0xaa, 0xfc, 0, 0, 0, 1}));
  EXPECT_EQ(n.mtu, 1500);
  ASSERT_TRUE(n.rx_rate_limiter);
  EXPECT_EQ(n.rx_rate_limiter->bandwidth->refill_time_ms, 2u);
  ASSERT_TRUE(n.tx_rate_limiter);
  EXPECT_FALSE(n.tx_rate_limiter->bandwidth);
  EXPECT_FALSE(n.tx_rate_limiter->ops);

  auto minimal = parse_ok<PutNetworkInterface>("PUT", "/network-interfaces/eth1",
                                               R"({"iface_id": "eth1", "host_dev_name": "tap1"})");
  EXPECT_FALSE(minimal.config.guest_mac);
  EXPECT_FALSE(minimal.config.mtu);
  EXPECT_FALSE(minimal.config.rx_rate_limiter);
}

TEST(ApiRouting, PatchNetworkInterface) {
  auto a = parse_ok<PatchNetworkInterface>(
      "PATCH", "/network-interfaces/eth0",
      R"({"iface_id": "eth0", "tx_rate_limiter": {"bandwidth": {"size": 100, "refill_time": 10}}})");
  EXPECT_EQ(a.iface_id, "eth0");
  EXPECT_FALSE(a.rx_rate_limiter);
  ASSERT_TRUE(a.tx_rate_limiter);
  EXPECT_EQ(a.tx_rate_limiter->bandwidth->size, 100u);
}

TEST(ApiRouting, PutVsock) {
  auto a = parse_ok<PutVsock>("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/tmp/v.sock"})");
  EXPECT_EQ(a.config.guest_cid, 3u);
  EXPECT_EQ(a.config.uds_path, "/tmp/v.sock");
  EXPECT_FALSE(a.config.vsock_id);
  auto b = parse_ok<PutVsock>("PUT", "/vsock", R"({"guest_cid": 4294967294, "uds_path": "/v", "vsock_id": "v"})");
  EXPECT_EQ(b.config.guest_cid, 4294967294u);
  EXPECT_EQ(b.config.vsock_id, "v");
}

TEST(ApiRouting, Actions) {
  parse_ok<InstanceStart>("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  parse_ok<SendCtrlAltDel>("PUT", "/actions", R"({"action_type": "SendCtrlAltDel"})");
  parse_ok<FlushMetrics>("PUT", "/actions", R"({"action_type": "FlushMetrics"})");
}

TEST(ApiRouting, PatchVm) {
  EXPECT_EQ(parse_ok<PatchVm>("PATCH", "/vm", R"({"state": "Paused"})").state, RequestedVmState::kPaused);
  EXPECT_EQ(parse_ok<PatchVm>("PATCH", "/vm", R"({"state": "Resumed"})").state, RequestedVmState::kResumed);
}

TEST(ApiRouting, PutLogger) {
  auto a = parse_ok<PutLogger>("PUT", "/logger", R"({"log_path": "/tmp/log", "level": "debug",
      "show_level": true, "show_log_origin": false, "module": "api_server::request"})");
  EXPECT_EQ(a.config.log_path, "/tmp/log");
  EXPECT_EQ(a.config.level, LoggerLevel::kDebug);  // the yaml: case-insensitive
  EXPECT_EQ(a.config.show_level, true);
  EXPECT_EQ(a.config.show_log_origin, false);
  EXPECT_EQ(a.config.module, "api_server::request");

  auto empty = parse_ok<PutLogger>("PUT", "/logger", "{}");
  EXPECT_FALSE(empty.config.log_path || empty.config.level || empty.config.show_level ||
               empty.config.show_log_origin || empty.config.module);
  EXPECT_EQ(parse_ok<PutLogger>("PUT", "/logger", R"({"level": "Warning"})").config.level, LoggerLevel::kWarning);
  EXPECT_EQ(parse_ok<PutLogger>("PUT", "/logger", R"({"level": "OFF"})").config.level, LoggerLevel::kOff);
}

TEST(ApiRouting, PutMetrics) {
  EXPECT_EQ(parse_ok<PutMetrics>("PUT", "/metrics", R"({"metrics_path": "/tmp/m"})").config.metrics_path, "/tmp/m");
}

TEST(ApiRouting, CreateSnapshot) {
  auto a = parse_ok<CreateSnapshot>("PUT", "/snapshot/create",
                                    R"({"snapshot_type": "Diff", "snapshot_path": "/s", "mem_file_path": "/m"})");
  EXPECT_EQ(a.params.snapshot_type, SnapshotType::kDiff);
  EXPECT_EQ(a.params.snapshot_path, "/s");
  EXPECT_EQ(a.params.mem_file_path, "/m");
  auto full = parse_ok<CreateSnapshot>("PUT", "/snapshot/create", R"({"snapshot_path": "/s", "mem_file_path": "/m"})");
  EXPECT_EQ(full.params.snapshot_type, SnapshotType::kFull);
}

TEST(ApiRouting, LoadSnapshotWithMemBackend) {
  auto a = parse_ok<LoadSnapshot>("PUT", "/snapshot/load", R"({
      "snapshot_path": "/s", "mem_backend": {"backend_type": "Uffd", "backend_path": "/uffd.sock"},
      "track_dirty_pages": true, "resume_vm": true, "clock_realtime": true,
      "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap9"}],
      "vsock_override": {"uds_path": "/v2.sock"}})");
  const SnapshotLoadParams& p = a.params;
  EXPECT_EQ(p.snapshot_path, "/s");
  EXPECT_EQ(p.mem_backend.backend_type, MemBackendType::kUffd);
  EXPECT_EQ(p.mem_backend.backend_path, "/uffd.sock");
  EXPECT_TRUE(p.track_dirty_pages);
  EXPECT_TRUE(p.resume_vm);
  EXPECT_TRUE(p.clock_realtime);
  ASSERT_EQ(p.network_overrides.size(), 1u);
  EXPECT_EQ(p.network_overrides[0].iface_id, "eth0");
  EXPECT_EQ(p.network_overrides[0].host_dev_name, "tap9");
  ASSERT_TRUE(p.vsock_override);
  EXPECT_EQ(p.vsock_override->uds_path, "/v2.sock");
}

TEST(ApiRouting, LoadSnapshotWithDeprecatedFields) {
  auto a = parse_ok<LoadSnapshot>("PUT", "/snapshot/load",
                                  R"({"snapshot_path": "/s", "mem_file_path": "/m", "enable_diff_snapshots": true})");
  EXPECT_EQ(a.params.mem_backend.backend_type, MemBackendType::kFile);
  EXPECT_EQ(a.params.mem_backend.backend_path, "/m");
  EXPECT_TRUE(a.params.track_dirty_pages);
  EXPECT_FALSE(a.params.resume_vm);
  EXPECT_FALSE(a.params.clock_realtime);
  EXPECT_TRUE(a.params.network_overrides.empty());
  EXPECT_FALSE(a.params.vsock_override);
}

TEST(ApiRouting, ActionNames) {
  EXPECT_EQ(action_name(VmmAction(PutDrive{})), "PutDrive");
  EXPECT_EQ(action_name(VmmAction(LoadSnapshot{})), "LoadSnapshot");
  EXPECT_EQ(action_name(VmmAction(GetInstanceInfo{})), "GetInstanceInfo");
}

TEST(ApiRouting, EndpointNames) {
  EXPECT_EQ(api_endpoint_name("PUT", "/drives/rootfs"), "PUT /drives/{drive_id}");
  EXPECT_EQ(api_endpoint_name("PATCH", "/network-interfaces/eth0?x=1"), "PATCH /network-interfaces/{iface_id}");
  EXPECT_EQ(api_endpoint_name("GET", "/"), "GET /");
  EXPECT_EQ(api_endpoint_name("GET", "/nope"), "");
  EXPECT_EQ(api_endpoint_name("DELETE", "/drives/x"), "");
}

// Firecracker v1.16.1's deprecated fields (its api_server/request/): the warning it logs and the
// reason for its `Deprecation: true` header.
TEST(ApiRequestDeprecation, DeprecatedFieldsAreNamedInFirecrackersWords) {
  struct Case { const char* method; const char* target; const char* body; const char* warning; };
  const Case cases[] = {
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "None"})",
       "PUT /machine-config: cpu_template field is deprecated."},
      {"PATCH", "/machine-config", R"({"cpu_template": "None"})", "PATCH /machine-config: cpu_template field is deprecated."},
      {"PUT", "/vsock", R"({"vsock_id": "v", "guest_cid": 3, "uds_path": "/v"})", "PUT /vsock: vsock_id field is deprecated."},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m"})",
       "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated."},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File", "backend_path": "/m"},
          "enable_diff_snapshots": true})",
       "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated."},
  };
  for (const Case& c : cases) {
    auto parsed = parse_api_request_with_info(c.method, c.target, c.body);
    ASSERT_TRUE(parsed.ok()) << c.body << ": " << parsed.error().message;
    EXPECT_EQ(parsed->deprecation, std::optional<std::string>(c.warning)) << c.body;
  }
  for (const Case& c : {Case{"PUT", "/vsock", R"({"vsock_id": null, "guest_cid": 3, "uds_path": "/v"})", ""},
                        Case{"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})", ""},
                        Case{"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File",
                            "backend_path": "/m"}, "enable_diff_snapshots": false})", ""}}) {
    auto parsed = parse_api_request_with_info(c.method, c.target, c.body);
    ASSERT_TRUE(parsed.ok()) << c.body << ": " << parsed.error().message;
    EXPECT_FALSE(parsed->deprecation.has_value()) << c.body;
  }
}

// Firecracker's RequestError texts for routing.
TEST(ApiRequestFaults, RoutingInFirecrackersWords) {
  auto fault = [](const char* method, const char* target, const char* body) {
    auto r = parse_api_request(method, target, body);
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_TRUE(fault("PATCH", "/boot-source", "{}").starts_with("Invalid request method and/or path: PATCH boot-source."));
  EXPECT_TRUE(fault("GET", "/nope", "").starts_with("Invalid request method and/or path: GET nope."));
  EXPECT_TRUE(fault("PUT", "/drives", "{}").starts_with("The ID cannot be empty."));
  EXPECT_TRUE(fault("PUT", "/drives/a-b", "{}").starts_with(
      "API Resource IDs can only contain alphanumeric characters and underscores."));
  EXPECT_EQ(fault("PUT", "/machine-config", ""), "Empty PUT request.");
  EXPECT_TRUE(fault("PATCH", "/machine-config", "{}").starts_with("Empty PATCH request."));
  EXPECT_EQ(fault("PUT", "/machine-config", "{\n  \"vcpu_count\": 2\n}"),
            "An error occurred when deserializing the json body of a request: missing field `mem_size_mib` at line 3 "
            "column 1.");
}

}  // namespace
}  // namespace ember
