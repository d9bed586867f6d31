// SMT and CPU templates on the real ember: the API's answers (Firecracker v1.16.1's values and
// texts), the static templates refused at InstanceStart on a host they do not fit (which ones fit
// is computed here from /proc/cpuinfo, independently of ember's own check), and the CPUID the
// `cpuid` test guest reads.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;

struct HostCpuInfo {
  std::string vendor;
  int family = -1;
  int model = -1;
  int stepping = -1;
};

HostCpuInfo read_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  HostCpuInfo info;
  std::string line;
  while (std::getline(in, line) && !line.empty()) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "vendor_id") info.vendor = value;
    if (key == "cpu family") info.family = std::stoi(value);
    if (key == "model") info.model = std::stoi(value);
    if (key == "stepping") info.stepping = std::stoi(value);
  }
  return info;
}

// Firecracker's static_cpu_templates/mod.rs and cpu_model.rs, as /proc/cpuinfo shows the models
// (display family and model): Skylake 6/0x55 stepping 4, Cascade Lake 6/0x55/7, Ice Lake 6/0x6a/6,
// Milan 0x19/0x01/1.
struct Model {
  int family, model, stepping;
};
constexpr Model kSkylake{6, 0x55, 4}, kCascadeLake{6, 0x55, 7}, kIceLake{6, 0x6a, 6}, kMilan{0x19, 0x01, 1};
struct TemplateFit {
  const char* name;
  const char* vendor;
  std::vector<Model> models;
};
const TemplateFit kTemplates[] = {
    {"C3", "GenuineIntel", {kSkylake, kCascadeLake, kIceLake}},
    {"T2", "GenuineIntel", {kSkylake, kCascadeLake, kIceLake}},
    {"T2S", "GenuineIntel", {kSkylake, kCascadeLake}},
    {"T2CL", "GenuineIntel", {kCascadeLake, kIceLake}},
    {"T2A", "AuthenticAMD", {kMilan}},
};

// The fault InstanceStart must give for `t` here, or "" when it must succeed.
std::string expected_refusal(const TemplateFit& t, const HostCpuInfo& host) {
  if (host.vendor != t.vendor) return "Failed to get CPU template: CPU vendor mismatched between actual CPU and CPU template.";
  for (const Model& m : t.models)
    if (m.family == host.family && m.model == host.model && m.stepping == host.stepping) return "";
  return "Failed to get CPU template: The current CPU model is not permitted to apply the CPU template.";
}

// One ember serving its API socket.
class EmberApi {
 public:
  explicit EmberApi(const TempDir& dir, const std::string& name) : sock_(dir.path() + "/" + name + ".sock") {
    ember_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{EMBER_BINARY, "--api-sock", sock_});
    ready_ = ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true);
  }
  [[nodiscard]] bool ready() const { return ready_; }
  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }
  BackgroundProcess& process() { return *ember_; }

 private:
  std::string sock_;
  std::unique_ptr<BackgroundProcess> ember_;
  bool ready_ = false;
};

std::string boot_source(const std::string& guest) {
  return R"({"kernel_image_path": ")" + guest_path(guest) + R"("})";
}

TEST(CpuTemplate, StaticTemplatesAcceptedThenCheckedAgainstTheHostAtInstanceStart) {
  require_kvm();
  const HostCpuInfo host = read_cpuinfo();
  ASSERT_FALSE(host.vendor.empty()) << "no vendor_id in /proc/cpuinfo";
  TempDir dir;
  for (const TemplateFit& t : kTemplates) {
    SCOPED_TRACE(std::string(t.name) + " on " + host.vendor + " family " + std::to_string(host.family) + " model " +
                 std::to_string(host.model) + " stepping " + std::to_string(host.stepping));
    EmberApi ember(dir, t.name);
    ASSERT_TRUE(ember.ready()) << ember.process().err();
    EXPECT_EQ(ember.call("PUT", "/machine-config",
                         std::string(R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true, "cpu_template": ")") + t.name +
                             "\"}")
                  .status,
              204);
    const std::string quoted = std::string("\"cpu_template\":\"") + t.name + "\"";
    EXPECT_NE(ember.call("GET", "/machine-config").body.find(quoted), std::string::npos);
    EXPECT_NE(ember.call("GET", "/vm/config").body.find(quoted), std::string::npos);
    EXPECT_EQ(ember.call("PUT", "/boot-source", boot_source("cpuid")).status, 204);
    const auto start = ember.call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
    const std::string refusal = expected_refusal(t, host);
    if (refusal.empty()) {
      EXPECT_EQ(start.status, 204) << start.body;
      EXPECT_TRUE(ember.process().wait_for_output("cpuid: done\n", 30s)) << ember.process().out();
    } else {
      EXPECT_EQ(start.status, 400);
      EXPECT_NE(start.body.find(refusal), std::string::npos) << start.body;
      EXPECT_NE(ember.call("GET", "/").body.find("\"Not started\""), std::string::npos);
    }
  }
}

TEST(CpuTemplate, ApiAnswers) {
  require_kvm();
  TempDir dir;
  EmberApi ember(dir, "api");
  ASSERT_TRUE(ember.ready()) << ember.process().err();
  auto odd = ember.call("PUT", "/machine-config", R"({"vcpu_count": 3, "mem_size_mib": 64, "smt": true})");
  EXPECT_EQ(odd.status, 400);
  EXPECT_NE(odd.body.find("must be 1 or an even number if SMT is enabled."), std::string::npos) << odd.body;
  EXPECT_EQ(ember.call("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true, "cpu_template": "T2"})").status, 204);
  EXPECT_EQ(ember.call("PATCH", "/machine-config", R"({"vcpu_count": 3})").status, 400);  // smt stays on
  auto bad_name = ember.call("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64, "cpu_template": "T9"})");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_NE(bad_name.body.find("cpu_template"), std::string::npos) << bad_name.body;
  auto report = ember.call("GET", "/machine-config").body;
  EXPECT_NE(report.find(R"("smt":true,"cpu_template":"T2")"), std::string::npos) << report;

  // A PUT without cpu_template keeps it; a custom template takes the one slot.
  EXPECT_EQ(ember.call("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true})").status, 204);
  EXPECT_NE(ember.call("GET", "/machine-config").body.find(R"("cpu_template":"T2")"), std::string::npos);
  auto bad = ember.call("PUT", "/cpu-config", R"({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0b12"}]}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("bitmap"), std::string::npos) << bad.body;
  EXPECT_NE(ember.call("GET", "/machine-config").body.find(R"("cpu_template":"T2")"), std::string::npos)
      << "a refused cpu-config changed the template";
  EXPECT_EQ(ember.call("PUT", "/cpu-config", R"({"cpuid_modifiers": [{"leaf": "0x4fffffff", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0b1"}]}]})").status, 204);
  EXPECT_EQ(ember.call("GET", "/machine-config").body.find("cpu_template"), std::string::npos);

  // The custom template changes a leaf KVM does not have: refused at InstanceStart with
  // Firecracker's text, nothing started.
  EXPECT_EQ(ember.call("PUT", "/boot-source", boot_source("ticker")).status, 204);  // runs until stopped
  auto start = ember.call("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  EXPECT_EQ(start.status, 400);
  EXPECT_NE(start.body.find("Template changes a CPUID entry not supported by KVM: Leaf: 4fffffff, Subleaf: 0"),
            std::string::npos)
      << start.body;

  // "None" clears it; then the VM starts with SMT on, and /cpu-config is refused afterwards.
  EXPECT_EQ(ember.call("PATCH", "/machine-config", R"({"cpu_template": "None"})").status, 204);
  EXPECT_EQ(ember.call("PUT", "/actions", R"({"action_type": "InstanceStart"})").status, 204);
  EXPECT_TRUE(ember.process().wait_for_output("tick 1\n", 30s)) << ember.process().out();
  auto late = ember.call("PUT", "/cpu-config", "{}");
  EXPECT_EQ(late.status, 400);
  EXPECT_NE(late.body.find("not supported after starting the microVM"), std::string::npos) << late.body;
}

// The guest's serial lines "cpuid LLLLLLLL SSSSSSSS eax=... ebx=... ecx=... edx=..." by (leaf, subleaf).
std::map<std::pair<uint32_t, uint32_t>, std::array<uint32_t, 4>> guest_cpuid(const std::string& out) {
  std::map<std::pair<uint32_t, uint32_t>, std::array<uint32_t, 4>> table;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    unsigned leaf = 0, subleaf = 0, a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(line.c_str(), "cpuid %x %x eax=%x ebx=%x ecx=%x edx=%x", &leaf, &subleaf, &a, &b, &c, &d) == 6)
      table[{leaf, subleaf}] = {a, b, c, d};
  }
  return table;
}

std::map<std::pair<uint32_t, uint32_t>, std::array<uint32_t, 4>> boot_cpuid_guest(const std::string& machine,
                                                                                  const std::string& extra = "") {
  const std::string config = R"({"boot-source": {"kernel_image_path": ")" + guest_path("cpuid") +
                             R"("}, "machine-config": )" + machine + extra + "}";
  auto r = run_ember(config, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cpuid: done\n"), std::string::npos) << r.out;
  return guest_cpuid(r.out);
}

// What the guest reads with CPUID: observed on this project's nested machines (TESTING.md), KVM
// answers the leaves checked here from the table ember set with KVM_SET_CPUID2, as hardware KVM
// does. The unit tests (tests/unit/vmm/x86_64/) check the whole table ember hands to KVM.
TEST(CpuTemplate, GuestSeesTheSmtTopology) {
  require_kvm();
  auto smt = boot_cpuid_guest(R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true})");
  auto nosmt = boot_cpuid_guest(R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": false})");
  for (auto leaf : {0xbu, 0x1fu}) {
    if (!smt.count({0, 0}) || smt.at({0, 0})[0] < leaf) continue;  // beyond the max basic leaf
    ASSERT_TRUE(smt.count({leaf, 0}) && nosmt.count({leaf, 0}));
    EXPECT_EQ(smt.at({leaf, 0})[0] & 0x1f, 1u) << leaf;       // one x2APIC id bit for the thread
    EXPECT_EQ(smt.at({leaf, 0})[1] & 0xffff, 2u) << leaf;     // two threads per core
    EXPECT_EQ(nosmt.at({leaf, 0})[0] & 0x1f, 0u) << leaf;
    EXPECT_EQ(nosmt.at({leaf, 0})[1] & 0xffff, 1u) << leaf;
    EXPECT_EQ(smt.at({leaf, 1})[1] & 0xffff, 2u) << leaf;     // two logical processors in the package
    EXPECT_EQ((smt.at({leaf, 1})[2] >> 8) & 0xff, 2u) << leaf;  // core level
  }
  // Leaf 1: HTT and two addressable ids either way; leaf 4 (Intel): one core of two threads
  // with SMT, two cores of one thread without.
  EXPECT_TRUE(smt.at({1, 0})[3] & (1u << 28));
  EXPECT_EQ((smt.at({1, 0})[1] >> 16) & 0xff, 2u);
  if (smt.at({4, 0})[0] != 0) {
    EXPECT_EQ(smt.at({4, 0})[0] >> 26, 0u);
    EXPECT_EQ((smt.at({4, 0})[0] >> 14) & 0xfff, 1u);
    EXPECT_EQ(nosmt.at({4, 0})[0] >> 26, 1u);
    EXPECT_EQ((nosmt.at({4, 0})[0] >> 14) & 0xfff, 0u);
  }
}

// A custom template in the config file: leaf 1 EAX (family/model/stepping) pinned to a Haswell's
// 0x000306f2. (It also clears leaf 7 EBX bit 0, FSGSBASE: observed here, this nested KVM still
// reports that feature bit as the host has it, one of the masks TESTING.md says it does not
// honour, so the guest's leaf 7 is not checked; the unit tests check the table ember sets.)
TEST(CpuTemplate, GuestSeesACustomTemplate) {
  require_kvm();
  const std::string cpu_config = R"(, "cpu-config": {"cpuid_modifiers": [
      {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
       "modifiers": [{"register": "eax", "bitmap": "0b0000_00000000_0011_00_00_0110_1111_0010"}]},
      {"leaf": "0x7", "subleaf": "0x0", "flags": 1, "modifiers": [{"register": "ebx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"}]}]})";
  auto plain = boot_cpuid_guest(R"({"vcpu_count": 1, "mem_size_mib": 64})");
  auto templated = boot_cpuid_guest(R"({"vcpu_count": 1, "mem_size_mib": 64})", cpu_config);
  ASSERT_TRUE(templated.count({1, 0}) && plain.count({1, 0}));
  EXPECT_EQ(templated.at({1, 0})[0], 0x000306f2u);
  EXPECT_NE(plain.at({1, 0})[0], 0x000306f2u) << "the test needs a host that is not this Haswell";
  EXPECT_EQ(templated.at({1, 0})[1], plain.at({1, 0})[1]);  // EBX: normalized the same way
}

}  // namespace
}  // namespace ember::test
