#include "vmm/config/vm_config.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

constexpr uint64_t kHost = 16ull << 30;

TEST(VmConfig, ParsesFirecrackerKeys) {
  auto c = parse_vm_config(R"({
    "boot-source": {"kernel_image_path": "/k", "boot_args": "console=ttyS0", "initrd_path": "/i"},
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": false, "track_dirty_pages": true},
    "drives": [], "network-interfaces": []})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->boot_source->kernel_image_path, "/k");
  EXPECT_EQ(*c->boot_source->boot_args, "console=ttyS0");
  EXPECT_EQ(*c->boot_source->initrd_path, "/i");
  EXPECT_EQ(c->machine.vcpu_count, 2u);
  EXPECT_EQ(c->machine.mem_size_mib, 256u);
  EXPECT_TRUE(c->machine.track_dirty_pages);
  EXPECT_TRUE(validate_machine_config(c->machine, kHost).ok());
}

TEST(VmConfig, ErrorsNameTheField) {
  struct Case { const char* json; const char* needle; };
  const Case cases[] = {
      {R"({"boot-source": {"kernel_image_path": "/k", "kernel": 1}})", "unknown key 'kernel' in boot-source"},
      {R"({"foo": 1})", "unknown key 'foo'"},
      {R"({"boot-source": {}})", "kernel_image_path is required"},
      {R"({"boot-source": {"kernel_image_path": 5}})", "boot-source.kernel_image_path must be a string"},
      {R"({"machine-config": {"vcpu_count": -1, "mem_size_mib": 5}})", "machine-config.vcpu_count"},
      {R"({"machine-config": {"vcpu_count": 1.5, "mem_size_mib": 5}})", "machine-config.vcpu_count"},
      {R"({"machine-config": {"vcpu_count": 1}})", "mem_size_mib is required"},
      {R"({"machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "smt": "no"}})", "machine-config.smt"},
      {R"({"machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T2"}})", "cpu_template"},
      {R"({"machine-config": []})", "'machine-config' must be a JSON object"},
      {R"({"drives": [{"drive_id": "root"}]})", "'drives' devices are not supported"},
      {R"({"boot-source": {"kernel_image_path": "/k", "bzimage_load": "cloud"}})", "bzimage_load"},
      {R"([1, 2])", "must hold a JSON object"},
      {R"({"a": )", "not valid JSON"},
      {"", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = parse_vm_config(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.json << " -> " << r.error().message;
  }
}

TEST(VmConfig, MachineLimits) {
  MachineConfig m;
  m.vcpu_count = 0;
  EXPECT_NE(validate_machine_config(m, kHost).error().message.find("vcpu_count"), std::string::npos);
  m.vcpu_count = 1000;
  EXPECT_FALSE(validate_machine_config(m, kHost).ok());
  m.vcpu_count = 32;
  EXPECT_TRUE(validate_machine_config(m, kHost).ok());
  m.mem_size_mib = 0;
  EXPECT_NE(validate_machine_config(m, kHost).error().message.find("mem_size_mib"), std::string::npos);
  m.mem_size_mib = (kHost >> 20) + 1;
  EXPECT_NE(validate_machine_config(m, kHost).error().message.find("more than this host"), std::string::npos);
  m.mem_size_mib = UINT64_MAX;
  EXPECT_FALSE(validate_machine_config(m, kHost).ok());
  m.mem_size_mib = 128;
  m.smt = true;
  EXPECT_FALSE(validate_machine_config(m, kHost).ok());
}

}  // namespace
}  // namespace ember
