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
      {"PUT", "/serial", "{}", "'/serial' is not supported by ember"},
      {"PATCH", "/machine-config", R"({"huge_pages": "2M"})", "huge_pages '2M' is not supported by ember"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"})", "not supported"},
      {"PUT", "/drives/vu", R"({"drive_id": "vu", "is_root_device": false, "socket": "/s"})",
       "vhost-user-block drives are not supported by ember"},
  });
}

TEST(ApiValidation, BodyMissingOrNotJson) {
  expect_all_refused({
      {"PUT", "/boot-source", "", R"x(Empty PUT request.)x"},
      {"PUT", "/actions", "  \r\n", R"x(Empty PUT request.)x"},
      {"PATCH", "/machine-config", "", R"x(Empty PATCH request.)x"},
      {"PUT", "/boot-source", "{", "not valid JSON"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k"} trailing)", "not valid JSON"},
      {"PUT", "/boot-source", "\"just a string\"", R"x(invalid type: string "just a string", expected a map (boot-source))x"},
      {"PUT", "/boot-source", "[1]", R"x(invalid type: sequence, expected a map (boot-source))x"},
      {"PUT", "/machine-config", "\"x\"", R"x(invalid type: string "x", expected a map (machine-config))x"},
      {"PUT", "/drives/x", "[1, 2]", R"x(invalid type: sequence, expected a map (drive))x"},
      {"PUT", "/actions", "null", R"x(invalid type: null, expected a map (action))x"},
      {"PUT", "/logger", std::string(40, '[') + std::string(40, ']'), "nests deeper"},
      {"PUT", "/logger", "\"\xff\"", "not valid JSON"},
      // A number too large even for a double: nlohmann throws out_of_range, not parse_error.
      {"PATCH", "/machine-config", R"({"mem_size_mib": 1e400})", "not valid JSON: number overflow"},
  });
}

TEST(ApiValidation, UnknownFieldsAreNamed) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128, "vcpus": 2})", R"x(unknown field `vcpus`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, `track_dirty_pages`, `cpu_template`, `huge_pages`)x"},
      {"PATCH", "/machine-config", R"({"memory": 2})", R"x(unknown field `memory`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, `track_dirty_pages`, `cpu_template`, `huge_pages`)x"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "kernel": "/x"})", R"x(unknown field `kernel`, expected one of `kernel_image_path`, `boot_args`, `initrd_path`, `bzimage_load`)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "readonly": true})",
       R"x(unknown field `readonly`, expected one of `drive_id`, `path_on_host`, `is_root_device`, `is_read_only`, `partuuid`, `cache_type`, `io_engine`, `rate_limiter`, `socket`)x"},
      {"PATCH", "/drives/x", R"({"drive_id": "x", "is_read_only": true})", R"x(unknown field `is_read_only`, expected one of `drive_id`, `path_on_host`, `rate_limiter`)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"bytes": {}}})",
       R"x(unknown field `bytes`, expected `bandwidth` or `ops` in drive.rate_limiter)x"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": 1, "refill_time": 1, "burst": 1}}})",
       R"x(unknown field `burst`, expected one of `size`, `one_time_burst`, `refill_time` in drive.rate_limiter.ops)x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "allow_mmds_requests": true})",
       R"x(unknown field `allow_mmds_requests`, expected one of `iface_id`, `host_dev_name`, `guest_mac`, `mtu`, `rx_rate_limiter`, `tx_rate_limiter`)x"},
      {"PATCH", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t"})",
       R"x(unknown field `host_dev_name`, expected one of `iface_id`, `rx_rate_limiter`, `tx_rate_limiter`)x"},
      {"PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/v", "cid": 3})", R"x(unknown field `cid`, expected one of `guest_cid`, `uds_path`, `vsock_id`)x"},
      {"PUT", "/actions", R"({"action_type": "InstanceStart", "payload": 1})", R"x(unknown field `payload`, expected `action_type`)x"},
      {"PATCH", "/vm", R"({"state": "Paused", "force": true})", R"x(unknown field `force`, expected `state`)x"},
      {"PUT", "/logger", R"({"level": "Info", "options": []})", R"x(unknown field `options`, expected one of `log_path`, `level`, `show_level`, `show_log_origin`, `module`)x"},
      {"PUT", "/metrics", R"({"metrics_path": "/m", "format": "json"})", R"x(unknown field `format`, expected `metrics_path`)x"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "/s", "mem_file_path": "/m", "version": "1.0"})",
       R"x(unknown field `version`, expected one of `snapshot_type`, `snapshot_path`, `mem_file_path`)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "extra": 1})",
       R"x(unknown field `extra`, expected one of `snapshot_path`, `mem_file_path`, `mem_backend`, `enable_diff_snapshots`, `track_dirty_pages`, `resume_vm`, `network_overrides`, `vsock_override`, `clock_realtime`)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File",
          "backend_path": "/m", "size": 1}})", R"x(unknown field `size`, expected `backend_type` or `backend_path` in snapshot-load.mem_backend)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "network_overrides": [{"iface_id": "e", "host_dev_name": "t", "mac": "x"}]})",
       R"x(unknown field `mac`, expected `iface_id` or `host_dev_name` in snapshot-load.network_overrides[0])x"},
  });
}

TEST(ApiValidation, RequiredFields) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"mem_size_mib": 128})", R"x(missing field `vcpu_count` at line 1 column 21)x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1})", R"x(missing field `mem_size_mib` at line 1 column 17)x"},
      {"PATCH", "/machine-config", "{}", "at least one field"},
      {"PUT", "/boot-source", "{}", R"x(missing field `kernel_image_path` at line 1 column 2)x"},
      {"PUT", "/drives/x", R"({"path_on_host": "/d", "is_root_device": false})", R"x(missing field `drive_id` at line 1 column 47)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "is_root_device": false})", R"x(missing field `path_on_host` at line 1 column 42)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d"})", R"x(missing field `is_root_device` at line 1 column 39)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d", "is_root_device": null})",
       R"x(missing field `is_root_device` (null counts as absent))x"},
      {"PATCH", "/drives/x", R"({"path_on_host": "/d"})", R"x(missing field `drive_id` at line 1 column 22)x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e"})", R"x(missing field `host_dev_name` at line 1 column 17)x"},
      {"PUT", "/network-interfaces/e", R"({"host_dev_name": "t"})", R"x(missing field `iface_id` at line 1 column 22)x"},
      {"PUT", "/vsock", R"({"uds_path": "/v"})", R"x(missing field `guest_cid` at line 1 column 18)x"},
      {"PUT", "/vsock", R"({"guest_cid": 3})", R"x(missing field `uds_path` at line 1 column 16)x"},
      {"PUT", "/actions", "{}", R"x(missing field `action_type` at line 1 column 2)x"},
      {"PATCH", "/vm", "{}", R"x(missing field `state` at line 1 column 2)x"},
      {"PUT", "/metrics", "{}", R"x(missing field `metrics_path` at line 1 column 2)x"},
      {"PUT", "/snapshot/create", R"({"mem_file_path": "/m"})", R"x(missing field `snapshot_path` at line 1 column 23)x"},
      {"PUT", "/snapshot/create", R"({"snapshot_path": "/s"})", R"x(missing field `mem_file_path` at line 1 column 23)x"},
      {"PUT", "/snapshot/load", R"({"mem_file_path": "/m"})", R"x(missing field `snapshot_path` at line 1 column 23)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s"})", R"x(missing field: either `mem_backend` or `mem_file_path` is required)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "mem_backend": {"backend_type": "File", "backend_path": "/m"}})", R"x(too many fields: either `mem_backend` or `mem_file_path` exclusively is required)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_path": "/m"}})",
       R"x(missing field `backend_type` in snapshot-load.mem_backend)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "File"}})",
       R"x(missing field `backend_path` in snapshot-load.mem_backend)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "vsock_override": {}})",
       R"x(missing field `uds_path` in snapshot-load.vsock_override)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": 1}}})",
       R"x(missing field `refill_time` in drive.rate_limiter.ops)x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"bandwidth": {"refill_time": 1}}})",
       R"x(missing field `size` in drive.rate_limiter.bandwidth)x"},
  });
}

// A required field given as null is refused as if it were absent, and the message says why.
TEST(ApiValidation, RequiredFieldsGivenAsNull) {
  expect_all_refused({
      {"PUT", "/boot-source", R"({"kernel_image_path": null})",
       R"x(missing field `kernel_image_path` (null counts as absent))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": null, "mem_size_mib": 128})",
       R"x(missing field `vcpu_count` (null counts as absent))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": null})",
       R"x(missing field `mem_size_mib` (null counts as absent))x"},
      {"PUT", "/drives/x", R"({"drive_id": null, "path_on_host": "/d", "is_root_device": false})",
       R"x(missing field `drive_id` (null counts as absent))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": null, "is_root_device": false})",
       R"x(missing field `path_on_host` (null counts as absent))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": null, "refill_time": 1}}})",
       R"x(missing field `size` in drive.rate_limiter.ops (null counts as absent))x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": null})",
       R"x(missing field `host_dev_name` (null counts as absent))x"},
      {"PUT", "/vsock", R"({"guest_cid": null, "uds_path": "/v"})", R"x(missing field `guest_cid` (null counts as absent))x"},
      {"PUT", "/actions", R"({"action_type": null})", R"x(missing field `action_type` (null counts as absent))x"},
      {"PATCH", "/vm", R"({"state": null})", R"x(missing field `state` (null counts as absent))x"},
      {"PUT", "/metrics", R"({"metrics_path": null})", R"x(missing field `metrics_path` (null counts as absent))x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": null})", R"x(missing field: either `mem_backend` or `mem_file_path` is required)x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": null, "backend_path": "/m"}})",
       R"x(missing field `backend_type` in snapshot-load.mem_backend (null counts as absent))x"},
  });
}

TEST(ApiValidation, WrongTypes) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": "2", "mem_size_mib": 128})", R"x(invalid type: string "2", expected u64 (machine-config.vcpu_count))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 2.5, "mem_size_mib": 128})", R"x(invalid type: floating point `2.5`, expected u64 (machine-config.vcpu_count))x"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 1.0})", R"x(invalid type: floating point `1.0`, expected u64 (machine-config.vcpu_count))x"},
      {"PATCH", "/machine-config", R"({"smt": "false"})", R"x(invalid type: string "false", expected a boolean (machine-config.smt))x"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": 1e3})", R"x(invalid type: floating point `1000.0`, expected u64 (machine-config.mem_size_mib))x"},
      {"PATCH", "/machine-config", R"({"track_dirty_pages": 1})", R"x(invalid type: integer `1`, expected a boolean (machine-config.track_dirty_pages))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "smt": "no"})",
       R"x(invalid type: string "no", expected a boolean (machine-config.smt))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": 2})",
       R"x(invalid type: integer `2`, expected a string (machine-config.cpu_template))x"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "boot_args": 1})", R"x(invalid type: integer `1`, expected a string (boot-source.boot_args))x"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "initrd_path": false})",
       R"x(invalid type: boolean `false`, expected a string (boot-source.initrd_path))x"},
      {"PUT", "/boot-source", R"({"kernel_image_path": 5})", R"x(invalid type: integer `5`, expected a string (boot-source.kernel_image_path))x"},
      {"PUT", "/drives/x", R"({"drive_id": 1, "path_on_host": "/d", "is_root_device": false})",
       R"x(invalid type: integer `1`, expected a string (drive.drive_id))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", "path_on_host": "/d", "is_root_device": "yes"})",
       R"x(invalid type: string "yes", expected a boolean (drive.is_root_device))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "is_read_only": 0})",
       R"x(invalid type: integer `0`, expected a boolean (drive.is_read_only))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": 5})",
       R"x(invalid type: integer `5`, expected a map (drive.rate_limiter))x"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": []}})",
       R"x(invalid type: sequence, expected a map (drive.rate_limiter.ops))x"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": "1", "refill_time": 1}}})",
       R"x(invalid type: string "1", expected u64 (drive.rate_limiter.ops.size))x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": ["t"]})",
       R"x(invalid type: sequence, expected a string (network-interface.host_dev_name))x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "guest_mac": 1})",
       R"x(invalid type: integer `1`, expected a string (network-interface.guest_mac))x"},
      {"PUT", "/vsock", R"({"guest_cid": "3", "uds_path": "/v"})", R"x(invalid type: string "3", expected u64 (vsock.guest_cid))x"},
      {"PUT", "/actions", R"({"action_type": 1})", R"x(invalid type: integer `1`, expected a string (action.action_type))x"},
      {"PUT", "/logger", R"({"show_level": "true"})", R"x(invalid type: string "true", expected a boolean (logger.show_level))x"},
      {"PUT", "/logger", R"({"module": 7})", R"x(invalid type: integer `7`, expected a string (logger.module))x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "resume_vm": "yes"})",
       R"x(invalid type: string "yes", expected a boolean (snapshot-load.resume_vm))x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": {}})",
       R"x(invalid type: map, expected a sequence (snapshot-load.network_overrides))x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": [1]})",
       R"x(invalid type: integer `1`, expected a map (snapshot-load.network_overrides[0]))x"},
  });
}

TEST(ApiValidation, EnumValues) {
  expect_all_refused({
      {"PUT", "/actions", R"({"action_type": "Reboot"})",
       R"(unknown variant `Reboot`, expected one of `InstanceStart`, `SendCtrlAltDel`, `FlushMetrics` (action.action_type))"},
      {"PUT", "/actions", R"({"action_type": "instancestart"})", R"x(unknown variant `instancestart`, expected one of `InstanceStart`, `SendCtrlAltDel`, `FlushMetrics` (action.action_type))x"},
      {"PATCH", "/vm", R"({"state": "Running"})", R"(unknown variant `Running`, expected `Paused` or `Resumed`)"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "cache_type": "None"})",
       R"(expected `Unsafe` or `Writeback` (drive.cache_type))"},
      {"PUT", "/drives/x", R"({"drive_id": "x", )" + kDrive + R"(, "io_engine": "Uring"})",
       R"(unknown variant `Uring`, expected `Sync` or `Async`)"},
      {"PUT", "/logger", R"({"level": "Verbose"})", R"x(unknown variant `Verbose`, expected one of `Error`, `Warning`, `Info`, `Debug`, `Trace`, `Off` (logger.level))x"},
      {"PUT", "/snapshot/create", R"({"snapshot_type": "Incremental", "snapshot_path": "/s", "mem_file_path": "/m"})",
       R"(expected `Full` or `Diff`)"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_backend": {"backend_type": "Shm", "backend_path": "/m"}})",
       R"(unknown variant `Shm`, expected `File` or `Uffd`)"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "cloud"})",
       R"(unknown variant `cloud`, expected one of `auto`, `host`, `guest` (boot-source.bzimage_load))"},
      {"PUT", "/boot-source", R"({"kernel_image_path": "/k", "bzimage_load": "Guest"})", "boot-source.bzimage_load"},
  });
}

TEST(ApiValidation, OutOfRangeNumbers) {
  expect_all_refused({
      {"PUT", "/machine-config", R"({"vcpu_count": 0, "mem_size_mib": 128})", R"x(Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got 0))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 33, "mem_size_mib": 128})", R"x(Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got 33))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": -1, "mem_size_mib": 128})", R"x(invalid value: integer `-1`, expected u64 (machine-config.vcpu_count))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 0})", R"x(Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size. (machine-config.mem_size_mib: got 0))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 18446744073709551615})", "mem_size_mib is too large"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 0})", R"x(Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got 0))x"},
      {"PATCH", "/machine-config", R"({"vcpu_count": 4294967297})", R"x(Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got 4294967297))x"},
      {"PUT", "/machine-config", R"({"vcpu_count": 4294967297, "mem_size_mib": 128})", R"x(Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got 4294967297))x"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": -5})", R"x(invalid value: integer `-5`, expected u64 (machine-config.mem_size_mib))x"},
      {"PATCH", "/machine-config", R"({"mem_size_mib": 18446744073709551616})", R"x(invalid type: floating point `1.8446744073709552e+19`, expected u64 (machine-config.mem_size_mib))x"},
      {"PUT", "/vsock", R"({"guest_cid": 2, "uds_path": "/v"})", "vsock.guest_cid must be between 3 and 4294967294, got 2"},
      {"PUT", "/vsock", R"({"guest_cid": 0, "uds_path": "/v"})", "vsock.guest_cid must be between 3"},
      {"PUT", "/vsock", R"({"guest_cid": 4294967295, "uds_path": "/v"})", "vsock.guest_cid must be between 3"},
      {"PUT", "/vsock", R"({"guest_cid": -3, "uds_path": "/v"})", R"x(invalid value: integer `-3`, expected u64 (vsock.guest_cid))x"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "mtu": 67})",
       "network-interface.mtu must be between 68 and 65535, got 67"},
      {"PUT", "/network-interfaces/e", R"({"iface_id": "e", "host_dev_name": "t", "mtu": 65536})",
       "network-interface.mtu must be between 68 and 65535"},
      {"PUT", "/drives/x",
       R"({"drive_id": "x", )" + kDrive + R"(, "rate_limiter": {"ops": {"size": -1, "refill_time": 1}}})",
       R"x(invalid value: integer `-1`, expected u64 (drive.rate_limiter.ops.size))x"},
      {"PATCH", "/network-interfaces/e",
       R"({"iface_id": "e", "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1, "one_time_burst": -1}}})",
       R"x(invalid value: integer `-1`, expected u64 (network-interface.rx_rate_limiter.bandwidth.one_time_burst))x"},
  });
}

TEST(ApiValidation, Ids) {
  expect_all_refused({
      {"PUT", "/drives/root-fs", R"({"drive_id": "root-fs", )" + kDrive + "}", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (the id 'root-fs' in the path: use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/drives/a%20b", R"({"drive_id": "a b", )" + kDrive + "}", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (the id 'a%20b' in the path: use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/drives/" + std::string(65, 'a'), "{}", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (the id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' in the path: use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/drives/ok", R"({"drive_id": "", )" + kDrive + "}", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (drive.drive_id '': use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/drives/ok", R"({"drive_id": "o.k", )" + kDrive + "}", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (drive.drive_id 'o.k': use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/drives/rootfs", R"({"drive_id": "other", )" + kDrive + "}",
       R"x(The id from the path does not match the id from the body! (drive.drive_id 'other', path 'rootfs'))x"},
      {"PATCH", "/drives/rootfs", R"({"drive_id": "other", "path_on_host": "/d"})", R"x(The id from the path does not match the id from the body! (drive.drive_id 'other', path 'rootfs'))x"},
      {"PUT", "/network-interfaces/eth0", R"({"iface_id": "eth1", "host_dev_name": "t"})",
       R"x(The id from the path [eth0] does not match the id from the body [eth1]!)x"},
      {"PATCH", "/network-interfaces/eth0", R"({"iface_id": "eth1", "rx_rate_limiter": {}})", R"x(The id from the path [eth0] does not match the id from the body [eth1]!)x"},
      {"PUT", "/network-interfaces/e:1", R"({"iface_id": "e:1", "host_dev_name": "t"})", R"x(API Resource IDs can only contain alphanumeric characters and underscores. (the id 'e:1' in the path: use 1 to 64 letters, digits or underscores))x"},
      {"PUT", "/snapshot/load", R"({"snapshot_path": "/s", "mem_file_path": "/m",
          "network_overrides": [{"iface_id": "e!", "host_dev_name": "t"}]})",
       R"x(API Resource IDs can only contain alphanumeric characters and underscores. (snapshot-load.network_overrides[0].iface_id 'e!': use 1 to 64 letters, digits or underscores))x"},
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
  EXPECT_NE(m.find("unknown field `?zzz"), std::string::npos) << m;
  EXPECT_NE(m.find("...`"), std::string::npos) << m;
  EXPECT_LT(m.size(), 200u) << m;

  // A huge unterminated string: the JSON error is cut short too.
  auto big = parse_api_request("PUT", "/metrics", "{\"metrics_path\": \"" + std::string(10000, 'a'));
  ASSERT_FALSE(big.ok());
  EXPECT_LT(big.error().message.size(), 400u);
}

}  // namespace
}  // namespace ember
