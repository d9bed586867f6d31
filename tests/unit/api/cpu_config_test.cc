// PUT /cpu-config, the config file's "cpu-config", machine-config's smt and cpu_template, and how
// GET /machine-config prints them: Firecracker v1.16.1's shapes and rules.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/config_file.h"
#include "api/cpu_config_parser.h"
#include "api/request_parser.h"
#include "api/response.h"

namespace ember {
namespace {

Result<CustomCpuTemplate> put_cpu_config(std::string_view body) {
  ASSIGN_OR_RETURN(VmmAction action, parse_api_request("PUT", "/cpu-config", body));
  if (!std::holds_alternative<PutCpuConfig>(action)) return make_error("not a PutCpuConfig");
  return std::get<PutCpuConfig>(action).config;
}

// Firecracker's docs/cpu_templates/cpu-templates.md example shape.
constexpr const char* kTemplate = R"({
  "kvm_capabilities": ["171", "!172"],
  "cpuid_modifiers": [
    {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
     "modifiers": [{"register": "eax", "bitmap": "0bx00100xxx1xxxxxxxxxxxxxxxxxxxxx1"},
                   {"register": "ecx", "bitmap": "0b_xxxx_0xxx"}]},
    {"leaf": "0x7", "subleaf": "0b0", "flags": 1, "modifiers": []}
  ],
  "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b0000000000000000000000000000000000000000000000000000000000001x01"}]
})";

TEST(CpuConfig, ParsesFirecrackersShape) {
  auto t = put_cpu_config(kTemplate);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->kvm_capabilities.size(), 2u);
  EXPECT_EQ(t->kvm_capabilities[0], (KvmCapabilityModifier{171, false}));
  EXPECT_EQ(t->kvm_capabilities[1], (KvmCapabilityModifier{172, true}));
  ASSERT_EQ(t->cpuid_modifiers.size(), 2u);
  const CpuidLeafModifier& l1 = t->cpuid_modifiers[0];
  EXPECT_EQ(l1.leaf, 1u);
  EXPECT_EQ(l1.subleaf, 0u);
  EXPECT_EQ(l1.flags, 0u);
  ASSERT_EQ(l1.modifiers.size(), 2u);
  EXPECT_EQ(l1.modifiers[0].reg, CpuidRegister::kEax);
  // "x00100xxx1" then 22 x and a final 1 (32 characters): bit 31 x, bits 30..26 00100, bit 22 1, bit 0 1.
  EXPECT_EQ(l1.modifiers[0].bitmap.filter, 0x7c400001u);
  EXPECT_EQ(l1.modifiers[0].bitmap.value, 0x10400001u);
  EXPECT_EQ(l1.modifiers[1].reg, CpuidRegister::kEcx);
  EXPECT_EQ(l1.modifiers[1].bitmap.filter, 0x8u);  // '_' ignored, bit 3 is 0
  EXPECT_EQ(l1.modifiers[1].bitmap.value, 0u);
  EXPECT_EQ(t->cpuid_modifiers[1].leaf, 7u);
  EXPECT_EQ(t->cpuid_modifiers[1].flags, 1u);
  ASSERT_EQ(t->msr_modifiers.size(), 1u);
  EXPECT_EQ(t->msr_modifiers[0].addr, 0x10au);
  EXPECT_EQ(t->msr_modifiers[0].bitmap.filter, ~uint64_t{0b0100});
  EXPECT_EQ(t->msr_modifiers[0].bitmap.value, uint64_t{0b1001});

  auto empty = put_cpu_config("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, CustomCpuTemplate{});
}

TEST(CpuConfig, BitmapRules) {
  auto full = api_detail::parse_bitmap(std::string(32, '1'), 32);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->filter, 0xffffffffu);
  EXPECT_FALSE(api_detail::parse_bitmap(std::string(33, '1'), 32).ok());
  EXPECT_TRUE(api_detail::parse_bitmap(std::string(64, 'x'), 64).ok());
  EXPECT_TRUE(api_detail::parse_bitmap("0b" + std::string(32, '0') + "____", 32).ok());
  auto unknown = api_detail::parse_bitmap("0b10z1", 32);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown character 'z'"), std::string::npos) << unknown.error().message;
  auto empty = api_detail::parse_bitmap("", 32);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->filter, 0u);
}

// Each bad body is refused with a 400 naming the field and the problem.
TEST(CpuConfig, RefusesBadBodiesNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
           "modifiers": [{"register": "eax", "bitmap": "0b2"}]}]})",
       "cpu-config.cpuid_modifiers[0].modifiers[0].bitmap: bitmap '0b2' has an unknown character '2'"},
      {R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
           "modifiers": [{"register": "eax", "bitmap": "0b111111111111111111111111111111111"}]}]})",
       "is too long for a 32-bit register"},
      {R"({"msr_modifiers": [{"addr": "0x10a", "bitmap": "0b11111111111111111111111111111111111111111111111111111111111111111"}]})",
       "cpu-config.msr_modifiers[0].bitmap: bitmap"},
      {R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
           "modifiers": [{"register": "rax", "bitmap": "0b1"}]}]})",
       "cpu-config.cpuid_modifiers[0].modifiers[0].register 'rax': Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]"},
      {R"({"cpuid_modifiers": [{"leaf": "1", "subleaf": "0x0", "flags": 0, "modifiers": []}]})",
       "cpu-config.cpuid_modifiers[0].leaf '1': no supported number system prefix"},
      {R"({"cpuid_modifiers": [{"leaf": 1, "subleaf": "0x0", "flags": 0, "modifiers": []}]})",
       "cpu-config.cpuid_modifiers[0].leaf"},
      {R"({"cpuid_modifiers": [{"leaf": "0x100000000", "subleaf": "0x0", "flags": 0, "modifiers": []}]})",
       "is not a 32-bit hexadecimal number"},
      {R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "modifiers": []}]})",
       "missing field `flags` in cpu-config.cpuid_modifiers[0]"},
      {R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0}]})",
       "missing field `modifiers` in cpu-config.cpuid_modifiers[0]"},
      {R"({"msr_modifiers": [{"addr": "0x10a"}]})", "missing field `bitmap` in cpu-config.msr_modifiers[0]"},
      {R"({"kvm_capabilities": ["abc"]})", "cpu-config.kvm_capabilities[0]: Failed to parse string 'abc'"},
      {R"({"kvm_capabilities": [171]})", "cpu-config.kvm_capabilities[0] must be a string"},
      {R"({"vcpu_features": [{"index": 0, "bitmap": "0b1"}]})", "cpu-config.vcpu_features is for aarch64 hosts only"},
      {R"({"reg_modifiers": []})", "cpu-config.reg_modifiers is for aarch64 hosts only"},
      {R"({"foo": false})", "foo"},
      {R"([])", "cpu-config must be a JSON object"},
  };
  for (const auto& [body, expected] : cases) {
    auto t = put_cpu_config(body);
    ASSERT_FALSE(t.ok()) << body;
    EXPECT_NE(t.error().message.find(expected), std::string::npos) << "got: " << t.error().message;
    EXPECT_EQ(t.error().kind, ErrorKind::kInvalid);
    EXPECT_EQ(to_reply(Result<ActionOutput>(t.error())).status, 400);
  }
}

TEST(CpuConfig, MachineConfigSmtAndStaticTemplates) {
  for (auto [name, value] : {std::pair{"C3", StaticCpuTemplate::kC3}, std::pair{"T2", StaticCpuTemplate::kT2},
                             std::pair{"T2S", StaticCpuTemplate::kT2S}, std::pair{"T2CL", StaticCpuTemplate::kT2CL},
                             std::pair{"T2A", StaticCpuTemplate::kT2A}, std::pair{"None", StaticCpuTemplate::kNone}}) {
    auto put = parse_api_request("PUT", "/machine-config",
                                 std::string(R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true, "cpu_template": ")") +
                                     name + "\"}");
    ASSERT_TRUE(put.ok()) << name << ": " << put.error().message;
    const auto& p = std::get<PutMachineConfig>(*put);
    EXPECT_EQ(p.cpu_template, value);
    EXPECT_TRUE(p.config.smt);
    auto patch = parse_api_request("PATCH", "/machine-config", std::string(R"({"cpu_template": ")") + name + "\"}");
    ASSERT_TRUE(patch.ok()) << name;
    EXPECT_EQ(std::get<PatchMachineConfig>(*patch).cpu_template, value);
  }
  auto absent = parse_api_request("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64})");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(std::get<PutMachineConfig>(*absent).cpu_template);  // keeps what was set
  for (const char* bad : {"t2", "T3", "random_string"}) {
    auto r = parse_api_request("PUT", "/machine-config",
                               std::string(R"({"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": ")") + bad + "\"}");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(std::string("unknown variant `") + bad +
                                     "`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, `T2A`"),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_FALSE(parse_api_request("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64, "smt": "yes"})").ok());
}

// The vCPU count rule with SMT (Firecracker machine_config.rs), with its text.
TEST(CpuConfig, SmtNeedsOneOrAnEvenVcpuCount) {
  const uint64_t host = uint64_t{1} << 40;
  for (uint32_t n : {1u, 2u, 4u, 32u}) EXPECT_TRUE(validate_machine_config(MachineConfig{n, 64, true}, host).ok()) << n;
  for (uint32_t n : {3u, 5u, 31u}) {
    auto r = validate_machine_config(MachineConfig{n, 64, true}, host);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().message.rfind(
                  "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an "
                  "even number if SMT is enabled.",
                  0),
              0u)
        << r.error().message;
  }
  EXPECT_TRUE(validate_machine_config(MachineConfig{3, 64, false}, host).ok());
}

// GET /machine-config: cpu_template only when a static one is set, between smt and
// track_dirty_pages as Firecracker orders its fields.
TEST(CpuConfig, MachineConfigReport) {
  MachineConfig m{2, 256, true, false, StaticCpuTemplate::kT2S};
  EXPECT_EQ(machine_config_json(m),
            R"({"vcpu_count":2,"mem_size_mib":256,"smt":true,"cpu_template":"T2S","track_dirty_pages":false,"huge_pages":"None"})");
  m.cpu_template = StaticCpuTemplate::kNone;
  EXPECT_EQ(machine_config_json(m).find("cpu_template"), std::string::npos);
  FullVmConfig full;
  full.machine.cpu_template = StaticCpuTemplate::kC3;
  const auto report = nlohmann::json::parse(vm_config_json(full));
  EXPECT_EQ(report["machine-config"]["cpu_template"], "C3");
  EXPECT_TRUE(report["cpu-config"].is_null());  // as Firecracker's GET /vm/config
}

TEST(CpuConfig, ConfigFileSectionInlineOrPath) {
  auto inline_ = parse_config_file(std::string(R"({"boot-source": {"kernel_image_path": "/k"},
      "machine-config": {"vcpu_count": 2, "mem_size_mib": 64, "smt": true, "cpu_template": "T2"},
      "cpu-config": )") + kTemplate + "}");
  ASSERT_TRUE(inline_.ok()) << inline_.error().message;
  // machine-config, then cpu-config (it replaces the static template), boot-source, InstanceStart.
  ASSERT_EQ(inline_->size(), 4u);
  EXPECT_EQ(std::get<PutMachineConfig>((*inline_)[0]).cpu_template, StaticCpuTemplate::kT2);
  ASSERT_TRUE(std::holds_alternative<PutCpuConfig>((*inline_)[1]));
  EXPECT_EQ(std::get<PutCpuConfig>((*inline_)[1]).config.msr_modifiers.size(), 1u);

  const std::string path = ::testing::TempDir() + "/ember_cpu_config_test.json";
  { std::ofstream(path) << kTemplate; }
  auto from_file = parse_config_file(R"({"boot-source": {"kernel_image_path": "/k"}, "cpu-config": ")" + path + "\"}");
  ASSERT_TRUE(from_file.ok()) << from_file.error().message;
  EXPECT_EQ(std::get<PutCpuConfig>((*from_file)[0]).config, std::get<PutCpuConfig>((*inline_)[1]).config);
  std::remove(path.c_str());

  auto missing = parse_config_file(R"({"boot-source": {"kernel_image_path": "/k"}, "cpu-config": "/nonexistent/t.json"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cpu-config: cannot read /nonexistent/t.json"), std::string::npos);
  auto bad = parse_config_file(R"({"boot-source": {"kernel_image_path": "/k"}, "cpu-config": {"msr_modifiers": [{"addr": "0x10a", "bitmap": "0b2"}]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cpu-config: cpu-config.msr_modifiers[0].bitmap"), std::string::npos)
      << bad.error().message;
  auto null = parse_config_file(R"({"boot-source": {"kernel_image_path": "/k"}, "cpu-config": null})");
  ASSERT_TRUE(null.ok());
  EXPECT_EQ(null->size(), 2u);
}

}  // namespace
}  // namespace ember
