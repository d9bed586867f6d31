// The JSON answers: field names and values as firecracker-api-v1.16.1.yaml defines them.
#include "api/response.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/request_parser.h"

namespace ember {
namespace {

using json = nlohmann::json;

TEST(ApiResponse, InstanceInfo) {
  const json j = json::parse(instance_info_json({"vm-1", InstanceState::kNotStarted, "0.1.0"}));
  EXPECT_EQ(j, json::parse(R"({"id": "vm-1", "state": "Not started", "vmm_version": "0.1.0", "app_name": "ember"})"));
  EXPECT_EQ(json::parse(instance_info_json({"a", InstanceState::kRunning, "v"}))["state"], "Running");
  EXPECT_EQ(json::parse(instance_info_json({"a", InstanceState::kPaused, "v"}))["state"], "Paused");
}

TEST(ApiResponse, Version) {
  EXPECT_EQ(json::parse(version_json("0.1.0")), json::parse(R"({"firecracker_version": "0.1.0"})"));
}

TEST(ApiResponse, MachineConfig) {
  MachineConfig m;
  m.vcpu_count = 2;
  m.mem_size_mib = 512;
  m.track_dirty_pages = true;
  EXPECT_EQ(json::parse(machine_config_json(m)), json::parse(R"({"vcpu_count": 2, "mem_size_mib": 512,
      "smt": false, "track_dirty_pages": true, "huge_pages": "None"})"));
}

TEST(ApiResponse, Fault) {
  EXPECT_EQ(json::parse(fault_json("bad \"thing\"")), json::parse(R"({"fault_message": "bad \"thing\""})"));
  // Bytes that are not UTF-8 (say, from a request path) are replaced, not thrown on.
  const json j = json::parse(fault_json("id '\xff\xfe'"));
  EXPECT_TRUE(j["fault_message"].is_string());
  const ApiReply r = reply_error("nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["fault_message"], "nope");
  EXPECT_EQ(reply_error("gone", 500).status, 500);
  EXPECT_EQ(reply_no_content().status, 204);
  EXPECT_TRUE(reply_no_content().body.empty());
  EXPECT_EQ(reply_json("{}").status, 200);
}

TEST(ApiResponse, ActionResultsBecomeReplies) {
  EXPECT_EQ(to_reply(ActionOutput{}).status, 204);
  EXPECT_TRUE(to_reply(ActionOutput{}).body.empty());
  const ApiReply version = to_reply(ActionOutput{VmmVersion{"1.2.3"}});
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(json::parse(version.body), json::parse(R"({"firecracker_version": "1.2.3"})"));
  const ApiReply info = to_reply(ActionOutput{InstanceInfo{"vm", InstanceState::kPaused, "v"}});
  EXPECT_EQ(json::parse(info.body)["state"], "Paused");
  EXPECT_EQ(json::parse(to_reply(ActionOutput{MachineConfig{}}).body)["vcpu_count"], 1);
  EXPECT_EQ(json::parse(to_reply(ActionOutput{FullVmConfig{}}).body)["boot-source"]["kernel_image_path"], "");
  // Errors: Firecracker answers every refusal with 400; a shutdown is 503, a bug 500.
  struct Case { ErrorKind kind; int status; };
  for (const Case c : {Case{ErrorKind::kInvalid, 400}, Case{ErrorKind::kState, 400}, Case{ErrorKind::kHost, 400},
                       Case{ErrorKind::kUnavailable, 503}, Case{ErrorKind::kInternal, 500},
                       Case{ErrorKind::kTooLarge, 413}}) {
    const ApiReply r = to_reply(make_error(c.kind, "why"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(json::parse(r.body)["fault_message"], "why");
  }
}

TEST(ApiResponse, MacAddress) {
  EXPECT_EQ(format_mac_address({0x02, 0xfc, 0x00, 0x0a, 0xbc, 0xff}), "02:fc:00:0a:bc:ff");
}

// As Firecracker's: the boot source is printed even when none is configured (its default).
TEST(ApiResponse, EmptyVmConfig) {
  const json j = json::parse(vm_config_json(FullVmConfig{}));
  EXPECT_EQ(j["boot-source"], json::parse(R"({"kernel_image_path": "", "initrd_path": null, "boot_args": null})"));
  EXPECT_EQ(j["machine-config"]["vcpu_count"], 1);
  EXPECT_EQ(j["machine-config"]["mem_size_mib"], 128);
  EXPECT_EQ(j["drives"], json::array());
  EXPECT_EQ(j["network-interfaces"], json::array());
  for (const char* key : {"balloon", "cpu-config", "logger", "metrics", "mmds-config", "vsock", "entropy",
                          "memory-hotplug"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j[key].is_null()) << key;
  }
  EXPECT_EQ(j["pmem"], json::array());
  EXPECT_EQ(j.size(), 13u);
}

TEST(ApiResponse, Mmds) {
  // An empty store reads as {} (Firecracker's answer before any PUT), data as compact JSON.
  EXPECT_EQ(to_reply(ActionOutput{MmdsContent{}}).body, "{}");
  const ApiReply r = to_reply(ActionOutput{MmdsContent{R"({"a":{"x":"y"},"b":1})"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"a":{"x":"y"},"b":1})");
  // GET /vm/config shows the MMDS config with the address in use.
  FullVmConfig full;
  full.mmds = MmdsConfig{MmdsVersion::kV2, {"eth0"}, std::nullopt, false};
  const json j = json::parse(vm_config_json(full));
  EXPECT_EQ(j["mmds-config"], json::parse(R"({"version": "V2", "network_interfaces": ["eth0"],
                                              "ipv4_address": "169.254.169.254", "imds_compat": false})"));
  // A store over its limit is Firecracker's 413.
  EXPECT_EQ(to_reply(make_error(ErrorKind::kTooLarge, "MMDS limit exceeded error: x")).status, 413);
}

TEST(ApiResponse, FullVmConfig) {
  FullVmConfig c;
  c.boot_source = BootSourceConfig{"/k", "console=ttyS0", std::nullopt, BzImageMode::kAuto};
  c.machine.vcpu_count = 2;
  DriveConfig d;
  d.drive_id = "rootfs";
  d.path_on_host = "/r.ext4";
  d.is_root_device = true;
  d.rate_limiter = RateLimiterConfig{TokenBucketConfig{100, 10, 1000}, std::nullopt};
  c.drives.push_back(d);
  NetworkInterfaceConfig n;
  n.iface_id = "eth0";
  n.host_dev_name = "tap0";
  n.guest_mac = MacAddress{0xaa, 0xbb, 0xcc, 0, 0, 1};
  n.tx_rate_limiter = RateLimiterConfig{TokenBucketConfig{1000000, 0, 100}, std::nullopt};
  c.network_interfaces.push_back(n);
  c.vsock = VsockConfig{3, "/v.sock", "vsock0"};

  const json j = json::parse(vm_config_json(c));
  EXPECT_EQ(j["boot-source"],
            json::parse(R"({"kernel_image_path": "/k", "initrd_path": null, "boot_args": "console=ttyS0"})"));
  EXPECT_EQ(j["machine-config"]["vcpu_count"], 2);
  EXPECT_EQ(j["drives"][0], json::parse(R"({"drive_id": "rootfs", "partuuid": null, "is_root_device": true,
      "cache_type": "Unsafe", "is_read_only": false, "path_on_host": "/r.ext4", "io_engine": "Sync",
      "rate_limiter": {"bandwidth": {"size": 100, "one_time_burst": 10, "refill_time": 1000}, "ops": null},
      "socket": null})"));
  // Firecracker's test_get_full_config: mtu and an unset one_time_burst are printed as null.
  EXPECT_EQ(j["network-interfaces"][0], json::parse(R"({"iface_id": "eth0", "host_dev_name": "tap0",
      "guest_mac": "aa:bb:cc:00:00:01", "mtu": null, "rx_rate_limiter": null, "tx_rate_limiter":
      {"bandwidth": {"size": 1000000, "one_time_burst": null, "refill_time": 100}, "ops": null}})"));
  // The deprecated vsock_id is not kept, as in Firecracker.
  EXPECT_EQ(j["vsock"], json::parse(R"({"guest_cid": 3, "uds_path": "/v.sock"})"));
  EXPECT_TRUE(j["logger"].is_null());
  EXPECT_TRUE(j["metrics"].is_null());
}

TEST(ApiResponse, ReportedDevicesParseBackAsRequests) {
  // What GET /vm/config reports for a device is a valid PUT body for it.
  FullVmConfig c;
  DriveConfig d;
  d.drive_id = "d1";
  d.path_on_host = "/d";
  d.partuuid = "1234-01";
  d.io_engine = DriveIoEngine::kAsync;
  d.rate_limiter = RateLimiterConfig{std::nullopt, TokenBucketConfig{1, 2, 3}};
  c.drives.push_back(d);
  NetworkInterfaceConfig n;
  n.iface_id = "n1";
  n.host_dev_name = "tap1";
  n.mtu = 9000;
  c.network_interfaces.push_back(n);
  const json j = json::parse(vm_config_json(c));

  auto drive = parse_api_request("PUT", "/drives/d1", j["drives"][0].dump());
  ASSERT_TRUE(drive.ok()) << drive.error().message;
  const DriveConfig& back = std::get<PutDrive>(*drive).config;
  EXPECT_EQ(back.partuuid, "1234-01");
  EXPECT_EQ(back.io_engine, DriveIoEngine::kAsync);
  EXPECT_EQ(back.rate_limiter->ops->refill_time_ms, 3u);

  auto iface = parse_api_request("PUT", "/network-interfaces/n1", j["network-interfaces"][0].dump());
  ASSERT_TRUE(iface.ok()) << iface.error().message;
  EXPECT_EQ(std::get<PutNetworkInterface>(*iface).config.mtu, 9000);
}

}  // namespace
}  // namespace ember
