#include "api/config_file.h"

#include <gtest/gtest.h>

#include <string>

#include "api/response.h"

namespace ember {
namespace {

TEST(ConfigFile, SectionsBecomeTheApiActionsThenInstanceStart) {
  auto actions = parse_config_file(R"({
    "boot-source": {"kernel_image_path": "/k", "boot_args": "console=ttyS0"},
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
    "drives": [{"drive_id": "rootfs", "path_on_host": "/r.ext4", "is_root_device": true, "is_read_only": false},
               {"drive_id": "data", "path_on_host": "/d.img", "is_root_device": false, "is_read_only": true}],
    "logger": {"level": "Debug"}})");
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 6u);
  EXPECT_TRUE(std::holds_alternative<PutLogger>((*actions)[0]));
  ASSERT_TRUE(std::holds_alternative<PutMachineConfig>((*actions)[1]));
  EXPECT_EQ(std::get<PutMachineConfig>((*actions)[1]).config.vcpu_count, 2u);
  EXPECT_TRUE(std::holds_alternative<PutBootSource>((*actions)[2]));
  ASSERT_TRUE(std::holds_alternative<PutDrive>((*actions)[3]));
  EXPECT_EQ(std::get<PutDrive>((*actions)[3]).config.drive_id, "rootfs");
  EXPECT_TRUE(std::get<PutDrive>((*actions)[4]).config.is_read_only);
  EXPECT_TRUE(std::holds_alternative<InstanceStart>((*actions)[5]));
}

// null is absent for a section, as for any optional field, and inside the sections.
TEST(ConfigFile, NullIsAbsent) {
  auto actions = parse_config_file(R"({
    "boot-source": {"kernel_image_path": "/k", "boot_args": null, "initrd_path": null, "bzimage_load": null},
    "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "smt": null, "track_dirty_pages": null,
                       "cpu_template": null, "huge_pages": null},
    "drives": [{"drive_id": "rootfs", "path_on_host": "/r", "is_root_device": true, "partuuid": null,
                "rate_limiter": null}],
    "network-interfaces": null, "vsock": null, "logger": null, "metrics": null})");
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 4u);
  ASSERT_TRUE(std::holds_alternative<PutMachineConfig>((*actions)[0]));
  ASSERT_TRUE(std::holds_alternative<PutBootSource>((*actions)[1]));
  const BootSourceConfig& boot = std::get<PutBootSource>((*actions)[1]).config;
  EXPECT_FALSE(boot.boot_args);
  EXPECT_FALSE(boot.initrd_path);
  ASSERT_TRUE(std::holds_alternative<PutDrive>((*actions)[2]));
  EXPECT_FALSE(std::get<PutDrive>((*actions)[2]).config.rate_limiter);
  EXPECT_TRUE(std::holds_alternative<InstanceStart>((*actions)[3]));

  auto required = parse_config_file(R"({"boot-source": {"kernel_image_path": null}})");
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error().message, "boot-source: An error occurred when deserializing the json body of a request: missing field "
            "`kernel_image_path` (null counts as absent)");
}

// Firecracker's own config files name the devices ember does not have as null or []: accepted,
// as "none"; with content they are refused by name.
TEST(ConfigFile, OutOfScopeSectionsAreAcceptedEmptyAndRefusedWithContent) {
  auto actions = parse_config_file(R"({
    "boot-source": {"kernel_image_path": "/k"}, "balloon": null, "mmds-config": null, "entropy": null,
    "cpu-config": null, "memory-hotplug": null, "pmem": [], "serial": null})");
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  EXPECT_EQ(actions->size(), 2u);  // PutBootSource, InstanceStart

  for (const char* section : {R"("balloon": {"amount_mib": 1, "deflate_on_oom": false})",
                              R"("pmem": [{"id": "p"}])"}) {
    auto r = parse_config_file(std::string(R"({"boot-source": {"kernel_image_path": "/k"}, )") + section + "}");
    ASSERT_FALSE(r.ok()) << section;
    const std::string name = std::string(section).substr(1, std::string(section).find('"', 1) - 1);
    EXPECT_EQ(r.error().message, "'" + name + "' is not supported by ember: give it as null (or leave it out)");
  }
}

// "mmds-config" is PUT /mmds/config, after the interfaces it names.
TEST(ConfigFile, MmdsConfigComesAfterTheInterfaces) {
  auto actions = parse_config_file(R"({
    "mmds-config": {"version": "V2", "network_interfaces": ["eth0"], "ipv4_address": "169.254.170.2"},
    "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}],
    "boot-source": {"kernel_image_path": "/k"}})");
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 4u);
  EXPECT_TRUE(std::holds_alternative<PutNetworkInterface>((*actions)[1]));
  ASSERT_TRUE(std::holds_alternative<PutMmdsConfig>((*actions)[2]));
  const MmdsConfig& m = std::get<PutMmdsConfig>((*actions)[2]).config;
  EXPECT_EQ(m.version, MmdsVersion::kV2);
  EXPECT_EQ(m.network_interfaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(m.ipv4_address, (Ipv4Octets{169, 254, 170, 2}));
  auto bad = parse_config_file(R"({"boot-source": {"kernel_image_path": "/k"}, "mmds-config": {"version": "V3", "network_interfaces": []}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("mmds-config: "), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("unknown variant `V3`"), std::string::npos) << bad.error().message;
}

// What GET /vm/config prints is a config file ember takes back.
TEST(ConfigFile, TheVmConfigReportIsAConfigFile) {
  FullVmConfig full;
  full.boot_source = BootSourceConfig{"/k", "console=ttyS0", std::nullopt, BzImageMode::kAuto};
  full.machine.vcpu_count = 2;
  DriveConfig drive;
  drive.drive_id = "rootfs";
  drive.path_on_host = "/r.ext4";
  drive.is_root_device = true;
  full.drives.push_back(drive);
  full.vsock = VsockConfig{3, "/v.sock", std::nullopt};
  auto actions = parse_config_file(vm_config_json(full));
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 5u);  // machine, boot source, drive, vsock, InstanceStart
  EXPECT_EQ(std::get<PutMachineConfig>((*actions)[0]).config.vcpu_count, 2u);
  EXPECT_EQ(std::get<PutDrive>((*actions)[2]).config.path_on_host, "/r.ext4");
}

// The sections go to the API's parsers as JSON, never printed and parsed again: a section nested
// far deeper than any body is refused without recursing once per level.
TEST(ConfigFile, DeeplyNestedSectionIsRefused) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto r = parse_config_file(R"({"logger": )" + deep + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "logger: An error occurred when deserializing the json body of a request: invalid type: sequence, "
            "expected a map (logger)");
}

TEST(ConfigFile, ErrorsNameTheSection) {
  struct Case { const char* json; const char* needle; };
  const Case cases[] = {
      {R"({"boot_source": {}})", "unknown key 'boot_source'"},
      {R"({"machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "vcpus": 2}})", "machine-config: "},
      {R"({"machine-config": {"vcpu_count": "two", "mem_size_mib": 64}})", "machine-config.vcpu_count"},
      {R"({"drives": {}})", "'drives' must be a JSON array"},
      {R"({"boot-source": [1]})", "boot-source: An error occurred when deserializing the json body of a request: invalid type: sequence"},
      {R"({"boot-source": {"kernel_image_path": "/k", "kernel": 1}})", "boot-source: An error occurred when deserializing the json body of a request: unknown field `kernel`"},
      {R"({"drives": [{"drive_id": null, "path_on_host": "/x", "is_root_device": false}]})",
       "drives[0]: drive_id is required"},
      {R"({"drives": [null]})", "drives[0]: drive_id is required"},
      {R"({"drives": [{"path_on_host": "/x"}]})", "drives[0]: drive_id is required"},
      {R"({"drives": [{"drive_id": "a/b", "path_on_host": "/x", "is_root_device": false}]})", "drives[0]: "},
      {R"({"drives": [{"drive_id": "ok", "path_on_host": "/x", "is_root_device": false}, {"drive_id": "x", "is_root_device": 3}]})", "drives[1]: "},
      {R"({"boot-source": )", "not valid JSON"},
      {R"([])", "must hold a JSON object"},
      {"", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = parse_config_file(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.json << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace ember
