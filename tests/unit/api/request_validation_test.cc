// Bad requests: unknown paths and methods, out-of-scope endpoints, bodies with unknown fields,
// wrong types, missing fields and values out of range. Each is refused with a message that
// names what was wrong.
#include "api/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace ember {
namespace {

struct BadCase {
  const char* method;
  std::string target;
  std::string body;
  const char* needle;  // must appear in the error message
};

void expect_refused(const BadCase& c) {
  auto action = parse_api_request(c.method, c.target, c.body);
  ASSERT_FALSE(action.ok()) << c.method << " " << c.target << " " << c.body << " was accepted as "
                            << action_name(*action);
  EXPECT_NE(action.error().message.find(c.needle), std::string::npos)
      << c.method << " " << c.target << " " << c.body << "\n  message: " << action.error().message
      << "\n  expected to contain: " << c.needle;
}

void expect_all_refused(std::initializer_list<BadCase> cases) {
  for (const BadCase& c : cases) expect_refused(c);
}

const std::string kDrive = R"("path_on_host": "/d", "is_root_device": false)";

TEST(ApiValidation, UnknownPaths) {
  expect_all_refused({
      {"GET", "/nope", "", "unknown API path '/nope'"},
      {"GET", "/version/extra", "", "unknown API path"},
      {"PUT", "/drives/a/b", "{}", "unknown API path"},
      {"GET", "/vm/config/x", "", "unknown API path"},
      {"PUT", "/snapshot", "{}", "unknown API path"},
      {"GET", "version", "", "is not a path"},
      {"GET", "", "", "is not a path"},
  });
}

TEST(ApiValidation, MissingDeviceIdInPath) {
  expect_all_refused({
      {"PUT", "/drives", "{}", "lacks the device id"},
      {"PUT", "/drives/", "{}", "lacks the device id"},
      {"PATCH", "/network-interfaces", "{}", "lacks the device id"},
  });
}

TEST(ApiValidation, WrongMethodOnKnownPath) {
  expect_all_refused({
      {"GET", "/boot-source", "", "method 'GET' is not allowed on '/boot-source' (allowed: PUT)"},
      {"PUT", "/", "{}", "(allowed: GET)"},
      {"DELETE", "/machine-config", "", "(allowed: GET, PUT, PATCH)"},
      {"GET", "/drives/rootfs", "", "(allowed: PUT, PATCH)"},
      {"PUT", "/vm", "{}", "(allowed: PATCH)"},
      {"PUT", "/vm/config", "{}", "(allowed: GET)"},
      {"GET", "/actions", "", "(allowed: PUT)"},
      {"get", "/version", "", "method 'get' is not allowed"},
      {"POST", "/snapshot/create", "{}", "(allowed: PUT)"},
  });
}

TEST(ApiValidation, OutOfScopeEndpoints) {
  expect_all_refused({
      {"PUT", "/balloon", R"({"amount_mib": 1, "deflate_on_oom": true})", "'/balloon' is not supported by ember"},
      {"GET", "/balloon/statistics", "", "'/balloon' is not supported by ember"},
      {"PATCH", "/balloon/hinting/start", "{}", "not supported by ember"},
      {"PUT", "/pmem/p0", "{}", "'/pmem' is not supported by ember"},
      {"PUT", "/entropy", "{}", "'/entropy' is not supported by ember"},
      {"PUT", "/hotplug/memory", "{}", "'/hotplug' is not supported by ember"},
      {"GET", "/mmds", "", "'/mmds' is not supported by ember"},
      {"PUT", "/mmds/config", "{}", "'/mmds' is not supported by ember"},
      {"PUT", "/serial", "{}", "'/serial' is not supported by ember"},
      {"PATCH", "/machine-config", R"({"huge_pages": "2M"})", "huge_pages '2M' is not supported by ember"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"})", "not supported"},
      {"PUT", "/drives/vu", R"({"drive_id": "vu", "is_root_device": false, "socket": "/s"})",
       "vhost-user-block drives are not supported by ember"},
  });
}

TEST(ApiValidation, BodyMissingOrNotJson) {
  expect_all_refused({
      {"PUT", "/boot-source", "", "needs a JSON body"},
      {"PUT", "/actions", "  \r\n", "needs a JSON body"},
      {"PATCH", "/machine-config", "", "needs a JSON body"},
      {"PUT", "/boot-source", "{", "not valid JSON"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k"} trailing)", "not valid JSON"},
      {"PUT", "/boot-source", "\"just a string\"", "boot-source must be a JSON object"},
      {"PUT", "/boot-source", "[1]", "boot-source must be a JSON object"},
      {"PUT", "/machine-config", "\"x\"", "machine-config must be a JSON object"},
      {"PUT", "/drives/x", "[1, 2]", "drive must be a JSON object"},
      {"PUT", "/actions", "null", "action must be a JSON object"},
      {"PUT", "/logger", std::string(40, '[') + std::string(40, ']'), "nests deeper"},
      {"PUT", "/logger", "\"\xff\"", "not valid JSON"},
      // A number too large even for a double: nlohmann throws out_of_range, not parse_error.
      {"PATCH", "/machine-config", R"({"mem_size_mib": 1e400})", "not valid JSON: number overflow"},
  });
}

TEST(ApiValidation, UnknownFieldsAreNamed) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128, "vcpus": 2})", "unknown field 'vcpus' in machine-config"},
      {"PATCH", "/machine-config", R"({"memory": 2})", "unknown field 'memory' in machine-config"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "kernel": "/x"})", "unknown field 'kernel' in boot-source"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "readonly": true})",
       "unknown field 'readonly' in drive"},
      {"PATCH", "/drives/x", R"({"drive_id": "x", "is_read_only": true})", "unknown field 'is_read_only' in drive"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"bytes": {}}})",
       "unknown field 'bytes' in drive.rate_limiter"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": 1, "refill_time": 1, "burst": 1}}})",
       "unknown field 'burst' in drive.rate_limiter.ops"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "allow_mmds_requests": true})",
       "unknown field 'allow_mmds_requests' in network-interface"},
      {"PATCH", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t"})",
       "unknown field 'host_dev_name' in network-interface"},
      {"PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/v", "cid": 3})", "unknown field 'cid' in vsock"},
      {"PUT", "/actions", R"({"action_type": "InstanceStart", "payload": 1})", "unknown field 'payload' in action"},
      {"PATCH", "/vm", R"({"state": "Paused", "force": true})", "unknown field 'force' in vm"},
      {"PUT", "/logger", R"({"level": "Info", "options": []})", "unknown field 'options' in logger"},
      {"PUT", "/metrics", R"({"metrics_path": "/m", "format": "json"})", "unknown field 'format' in metrics"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "/s", "mem_file_path": "/m", "version": "1.0"})",
       "unknown field 'version' in snapshot-create"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "extra": 1})",
       "unknown field 'extra' in snapshot-load"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File",
          "backend_path": "/m", "size": 1}})", "unknown field 'size' in snapshot-load.mem_backend"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "network_overrides": [{"iface_id": "e", "host_dev_name": "t", "mac": "x"}]})",
       "unknown field 'mac' in snapshot-load.network_overrides[0]"},
  });
}

TEST(ApiValidation, RequiredFields) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"mem_size_mib": 128})", "vcpu_count is required"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1})", "mem_size_mib is required"},
      {"PATCH", "/machine-config", "{}", "at least one field"},
      {"PUT", "/boot-source", "{}", "kernel_image_path is required"},
      {"PUT", "/drives/x", R"({"path_on_host": "/d", "is_root_device": false})", "drive.drive_id is required"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "is_root_device": false})", "drive.path_on_host is required"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d"})", "drive.is_root_device is required"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d", "is_root_device": null})",
       "drive.is_root_device is required"},
      {"PATCH", "/drives/x", R"({"drive_id": "x"})", "must change path_on_host or rate_limiter"},
      {"PATCH", "/drives/x", R"({"path_on_host": "/d"})", "drive.drive_id is required"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e"})", "network-interface.host_dev_name is required"},
      {"PUT", "/network-interfaces/e", R"({"host_dev_name": "t"})", "network-interface.iface_id is required"},
      {"PATCH", "/network-interfaces/e", R"({"iface_id": "e"})", "must change rx_rate_limiter or tx_rate_limiter"},
      {"PUT", "/vsock", R"({"uds_path": "/v"})", "vsock.guest_cid is required"},
      {"PUT", "/vsock", R"({"guest_cid": 3})", "vsock.uds_path is required"},
      {"PUT", "/actions", "{}", "action.action_type is required"},
      {"PATCH", "/vm", "{}", "vm.state is required"},
      {"PUT", "/metrics", "{}", "metrics.metrics_path is required"},
      {"PUT", "/snapshot/create", R"({"mem_file_path": "/m"})", "snapshot-create.snapshot_path is required"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "/s"})", "snapshot-create.mem_file_path is required"},
      {"PUT", "/snapshot/load", R"({"mem_file_path": "/m"})", "snapshot-load.snapshot_path is required"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s"})", "snapshot-load.mem_backend is required"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "mem_backend": {"backend_type": "File", "backend_path": "/m"}})", "not both"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_path": "/m"}})",
       "snapshot-load.mem_backend.backend_type is required"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File"}})",
       "snapshot-load.mem_backend.backend_path is required"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "vsock_override": {}})",
       "snapshot-load.vsock_override.uds_path is required"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": 1}}})",
       "drive.rate_limiter.ops.refill_time is required"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"bandwidth": {"refill_time": 1}}})",
       "drive.rate_limiter.bandwidth.size is required"},
  });
}

// A required field given as null is refused as if it were absent, and the message says why.
TEST(ApiValidation, RequiredFieldsGivenAsNull) {
  expect_all_refused({
      {"PUT", "/boot-source", R"({"kernel_image_path": null})",
       "boot-source.kernel_image_path is required (null counts as absent)"},
      {"PUT", "/machine-config", R"({"vcpu_count": null, "mem_size_mib": 128})",
       "machine-config.vcpu_count is required (null counts as absent)"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": null})",
       "machine-config.mem_size_mib is required (null counts as absent)"},
      {"PUT", "/drives/x", R"({"drive_id": null, "path_on_host": "/d", "is_root_device": false})",
       "drive.drive_id is required (null counts as absent)"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": null, "is_root_device": false})",
       "drive.path_on_host is required (null counts as absent)"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": null, "refill_time": 1}}})",
       "drive.rate_limiter.ops.size is required (null counts as absent)"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": null})",
       "network-interface.host_dev_name is required (null counts as absent)"},
      {"PUT", "/vsock", R"({"guest_cid": null, "uds_path": "/v"})", "vsock.guest_cid is required (null counts as absent)"},
      {"PUT", "/actions", R"({"action_type": null})", "action.action_type is required (null counts as absent)"},
      {"PATCH", "/vm", R"({"state": null})", "vm.state is required (null counts as absent)"},
      {"PUT", "/metrics", R"({"metrics_path": null})", "metrics.metrics_path is required (null counts as absent)"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": null})", "snapshot-load.mem_backend is required"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": null, "backend_path": "/m"}})",
       "snapshot-load.mem_backend.backend_type is required (null counts as absent)"},
      // A PATCH whose every field is null changes nothing.
      {"PATCH", "/drives/x", R"({"drive_id": "x", "path_on_host": null, "rate_limiter": null})",
       "must change path_on_host or rate_limiter"},
      {"PATCH", "/network-interfaces/e", R"({"iface_id": "e", "rx_rate_limiter": null})",
       "must change rx_rate_limiter or tx_rate_limiter"},
  });
}

TEST(ApiValidation, WrongTypes) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": "2", "mem_size_mib": 128})", "vcpu_count must be a non-negative"},
      {"PUT", "/machine-config", R"({"vcpu_count": 2.5, "mem_size_mib": 128})", "machine-config.vcpu_count must be an integer"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 1.0})", "machine-config.vcpu_count must be an integer"},
      {"PATCH", "/machine-config", R"({"smt": "false"})", "machine-config.smt must be true or false"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": 1e3})", "machine-config.mem_size_mib must be an integer"},
      {"PATCH", "/machine-config", R"({"track_dirty_pages": 1})", "track_dirty_pages must be true or false"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "smt": "no"})",
       "machine-config.smt must be true or false"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": 2})",
       "machine-config.cpu_template must be a string"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "boot_args": 1})", "boot-source.boot_args must be a string"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "initrd_path": false})",
       "boot-source.initrd_path must be a string"},
      {"PUT", "/boot-source", R"({"kernel_image_path": 5})", "kernel_image_path must be a string"},
      {"PUT", "/drives/x", R"({"drive_id": 1, "path_on_host": "/d", "is_root_device": false})",
       "drive.drive_id must be a string"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d", "is_root_device": "yes"})",
       "drive.is_root_device must be true or false"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "is_read_only": 0})",
       "drive.is_read_only must be true or false"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": 5})",
       "drive.rate_limiter must be a JSON object"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": []}})",
       "drive.rate_limiter.ops must be a JSON object"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": "1", "refill_time": 1}}})",
       "drive.rate_limiter.ops.size must be a non-negative integer"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": ["t"]})",
       "network-interface.host_dev_name must be a string"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "guest_mac": 1})",
       "network-interface.guest_mac must be a string"},
      {"PUT", "/vsock", R"({"guest_cid": "3", "uds_path": "/v"})", "vsock.guest_cid must be a non-negative integer"},
      {"PUT", "/actions", R"({"action_type": 1})", "action.action_type must be a string"},
      {"PUT", "/logger", R"({"show_level": "true"})", "logger.show_level must be true or false"},
      {"PUT", "/logger", R"({"module": 7})", "logger.module must be a string"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "resume_vm": "yes"})",
       "snapshot-load.resume_vm must be true or false"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": {}})",
       "snapshot-load.network_overrides must be a JSON array"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": [1]})",
       "snapshot-load.network_overrides[0] must be a JSON object"},
  });
}

TEST(ApiValidation, EnumValues) {
  expect_all_refused({
      {"PUT", "/actions", R"({"action_type": "Reboot"})",
       R"(action.action_type must be one of "InstanceStart", "SendCtrlAltDel", "FlushMetrics"; got 'Reboot')"},
      {"PUT", "/actions", R"({"action_type": "instancestart"})", "action.action_type must be one of"},
      {"PATCH", "/vm", R"({"state": "Running"})", R"(vm.state must be one of "Paused", "Resumed")"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "cache_type": "None"})",
       R"(drive.cache_type must be one of "Unsafe", "Writeback")"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "io_engine": "Uring"})",
       R"(drive.io_engine must be one of "Sync", "Async")"},
      {"PUT", "/logger", R"({"level": "Verbose"})", "logger.level must be one of"},
      {"PUT", "/snapshot/create", R"({"snapshot_type": "Incremental", "snapshot_path": "/s", "mem_file_path": "/m"})",
       R"(snapshot-create.snapshot_type must be one of "Full", "Diff")"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "Shm", "backend_path": "/m"}})",
       R"(snapshot-load.mem_backend.backend_type must be one of "File", "Uffd")"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "cloud"})",
       R"(boot-source.bzimage_load must be one of "auto", "host", "guest"; got 'cloud')"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "Guest"})", "boot-source.bzimage_load"},
  });
}

TEST(ApiValidation, OutOfRangeNumbers) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": 0, "mem_size_mib": 128})", "vcpu_count must be between 1 and 32, got 0"},
      {"PUT", "/machine-config", R"({"vcpu_count": 33, "mem_size_mib": 128})", "vcpu_count must be between 1 and 32"},
      {"PUT", "/machine-config", R"({"vcpu_count": -1, "mem_size_mib": 128})", "machine-config.vcpu_count must not be negative"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 0})", "mem_size_mib must be at least 1"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 18446744073709551615})", "mem_size_mib is too large"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 0})", "vcpu_count must be between 1 and 32"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 4294967297})", "vcpu_count must be between 1 and 32"},
      {"PUT", "/machine-config", R"({"vcpu_count": 4294967297, "mem_size_mib": 128})", "vcpu_count must be between 1 and 32"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": -5})", "machine-config.mem_size_mib must not be negative"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": 18446744073709551616})", "mem_size_mib must be an integer below"},
      {"PUT", "/vsock", R"({"guest_cid": 2, "uds_path": "/v"})", "vsock.guest_cid must be between 3 and 4294967294, got 2"},
      {"PUT", "/vsock", R"({"guest_cid": 0, "uds_path": "/v"})", "vsock.guest_cid must be between 3"},
      {"PUT", "/vsock", R"({"guest_cid": 4294967295, "uds_path": "/v"})", "vsock.guest_cid must be between 3"},
      {"PUT", "/vsock", R"({"guest_cid": -3, "uds_path": "/v"})", "vsock.guest_cid must not be negative"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "mtu": 67})",
       "network-interface.mtu must be between 68 and 65535, got 67"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "mtu": 65536})",
       "network-interface.mtu must be between 68 and 65535"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": -1, "refill_time": 1}}})",
       "drive.rate_limiter.ops.size must not be negative"},
      {"PATCH", "/network-interfaces/e",
       R"({"iface_id": "e", "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1, "one_time_burst": -1}}})",
       "network-interface.rx_rate_limiter.bandwidth.one_time_burst must not be negative"},
  });
}

TEST(ApiValidation, Ids) {
  expect_all_refused({
      {"PUT", "/drives/root-fs", R"({"drive_id": "root-fs", )" + kDrive + "}", "the id 'root-fs' in the path is not a valid id"},
      {"PUT", "/drives/a%20b", R"({"drive_id": "a b", )" + kDrive + "}", "is not a valid id"},
      {"PUT", "/drives/" + std::string(65, 'a'), "{}", "is not a valid id"},
      {"PUT", "/drives/ok", R"({"drive_id": "", )" + kDrive + "}", "drive.drive_id '' is not a valid id"},
      {"PUT", "/drives/ok", R"({"drive_id": "o.k", )" + kDrive + "}", "drive.drive_id 'o.k' is not a valid id"},
      {"PUT", "/drives/rootfs", R"({"drive_id": "other", )" + kDrive + "}",
       "drive.drive_id 'other' in the body does not match 'rootfs' in the path"},
      {"PATCH", "/drives/rootfs", R"({"drive_id": "other", "path_on_host": "/d"})", "does not match 'rootfs'"},
      {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth1", "host_dev_name": "t"})",
       "network-interface.iface_id 'eth1' in the body does not match 'eth0' in the path"},
      {"PATCH", "/network-interfaces/eth0", R"({"iface_id": "eth1", "rx_rate_limiter": {}})", "does not match 'eth0'"},
      {"PUT", "/network-interfaces/e:1", R"({"iface_id": "e:1", "host_dev_name": "t"})", "is not a valid id"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "network_overrides": [{"iface_id": "e!", "host_dev_name": "t"}]})",
       "snapshot-load.network_overrides[0].iface_id 'e!' is not a valid id"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": [
          {"iface_id": "e", "host_dev_name": "t"}, {"iface_id": "e", "host_dev_name": "u"}]})",
       "network_overrides[1].iface_id 'e' is overridden twice"},
  });
}

TEST(ApiValidation, MacAddressesAndHostDeviceNames) {
  const char* bad_macs[] = {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:fg",
                            "aabb:cc:dd:ee:ff:", "a:bb:cc:dd:ee:fff", " aa:bb:cc:dd:ee:f"};
  for (const char* mac : bad_macs) {
    expect_refused({"PUT", "/network-interfaces/e",
                    std::string(R"({"iface_id": "e", "host_dev_name": "t", "guest_mac": ")") + mac + "\"}",
                    "network-interface.guest_mac"});
  }
  const char* bad_names[] = {"", "tap0123456789abcd", "a/b", "a b", "a:b", ".", ".."};
  for (const char* name : bad_names) {
    expect_refused({"PUT", "/network-interfaces/e",
                    std::string(R"({"iface_id": "e", "host_dev_name": ")") + name + "\"}",
                    "is not a valid host interface name"});
  }
  // 15 characters is the longest Linux name.
  EXPECT_TRUE(parse_api_request("PUT", "/network-interfaces/e",
                                R"({"iface_id": "e", "host_dev_name": "tap0123456789ab"})").ok());
}

TEST(ApiValidation, EmptyAndNulPaths) {
  expect_all_refused({
      {"PUT", "/boot-source", R"({"kernel_image_path": ""})", "kernel_image_path is empty"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k\u0000/x"})", "kernel_image_path must not contain a NUL"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "initrd_path": ""})", "initrd_path must not be empty"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "boot_args": "a\u0000b"})", "boot_args must not contain"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "", "is_root_device": false})",
       "drive.path_on_host must not be empty"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/a\u0000", "is_root_device": false})",
       "drive.path_on_host must not contain a NUL"},
      {"PATCH", "/drives/x", R"({"drive_id": "x", "path_on_host": ""})", "drive.path_on_host must not be empty"},
      {"PUT", "/vsock", R"({"guest_cid": 3, "uds_path": ""})", "vsock.uds_path must not be empty"},
      {"PUT", "/logger", R"({"log_path": ""})", "logger.log_path must not be empty"},
      {"PUT", "/metrics", R"({"metrics_path": ""})", "metrics.metrics_path must not be empty"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "", "mem_file_path": "/m"})", "snapshot_path must not be empty"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "/s", "mem_file_path": ""})", "mem_file_path must not be empty"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": ""})", "mem_file_path must not be empty"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File", "backend_path": ""}})",
       "mem_backend.backend_path must not be empty"},
  });
}

TEST(ApiValidation, PartUuid) {
  expect_refused({"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "partuuid": "abc rw init=/bin/sh"})",
                  "drive.partuuid 'abc rw init=/bin/sh' is not a partition UUID"});
  expect_refused({"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "partuuid": ""})", "is not a partition UUID"});
}

TEST(ApiValidation, MessagesQuoteBadValuesSafely) {
  // A long, unprintable field name is shown cut short, with the bytes replaced.
  const std::string name = "\\u0001" + std::string(200, 'z');
  auto action = parse_api_request("PUT", "/metrics", "{\"" + name + "\": 1}");
  ASSERT_FALSE(action.ok());
  const std::string& m = action.error().message;
  EXPECT_NE(m.find("unknown field '?zzz"), std::string::npos) << m;
  EXPECT_NE(m.find("...'"), std::string::npos) << m;
  EXPECT_LT(m.size(), 120u) << m;

  // A huge unterminated string: the JSON error is cut short too.
  auto big = parse_api_request("PUT", "/metrics", "{\"metrics_path\": \"" + std::string(10000, 'a'));
  ASSERT_FALSE(big.ok());
  EXPECT_LT(big.error().message.size(), 300u);
}

}  // namespace
}  // namespace ember
