#include "api/vm_config_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ember {
namespace {

constexpr uint64_t kHost = 16ull << 30;
using nlohmann::json;

TEST(VmConfig, ParsesTheBootSourceAndMachineSections) {
  auto b = parse_boot_source(json::parse(R"({"kernel_image_path": "/k", "boot_args": "console=ttyS0", "initrd_path": "/i", "bzimage_load": "guest"})"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->kernel_image_path, "/k");
  EXPECT_EQ(*b->boot_args, "console=ttyS0");
  EXPECT_EQ(*b->initrd_path, "/i");
  EXPECT_EQ(b->bzimage_load, BzImageMode::kGuest);
  auto m = parse_machine_config(json::parse(R"({"vcpu_count": 2, "mem_size_mib": 256, "smt": false, "track_dirty_pages": true})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->vcpu_count, 2u);
  EXPECT_EQ(m->mem_size_mib, 256u);
  EXPECT_TRUE(m->track_dirty_pages);
  EXPECT_TRUE(validate_machine_config(*m, kHost).ok());
}

TEST(VmConfig, ErrorsNameTheField) {
  struct Case { const char* json; bool boot; const char* needle; };
  const Case cases[] = {
      {R"({"kernel_image_path": "/k", "kernel": 1})", true, "unknown key 'kernel' in boot-source"},
      {R"({})", true, "kernel_image_path is required"},
      {R"({"kernel_image_path": 5})", true, "boot-source.kernel_image_path must be a string"},
      {R"({"kernel_image_path": "/k", "bzimage_load": "cloud"})", true, "bzimage_load"},
      {R"([1])", true, "'boot-source' must be a JSON object"},
      {R"({"vcpu_count": -1, "mem_size_mib": 5})", false, "machine-config.vcpu_count"},
      {R"({"vcpu_count": 1.5, "mem_size_mib": 5})", false, "machine-config.vcpu_count"},
      {R"({"vcpu_count": 1})", false, "mem_size_mib is required"},
      {R"({"vcpu_count": 1, "mem_size_mib": 64, "smt": "no"})", false, "machine-config.smt"},
      {R"({"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T2"})", false, "cpu_template"},
      {R"("x")", false, "'machine-config' must be a JSON object"},
  };
  for (const auto& c : cases) {
    json j = json::parse(c.json);
    std::string message = c.boot ? parse_boot_source(j).error().message : parse_machine_config(j).error().message;
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.json << " -> " << message;
  }
}

}  // namespace
}  // namespace ember
