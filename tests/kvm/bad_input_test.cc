// Bad configurations and kernel files: each ends ember quickly with a non-zero status and a
// message that names the problem. Never a crash (signal) or a hang.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using std::chrono::seconds;

void expect_clean_failure(const ProcessResult& r, const std::string& needle) {
  EXPECT_FALSE(r.timed_out) << "ember hung";
  EXPECT_EQ(r.signal, 0) << "ember died of signal " << r.signal << "\n" << r.err;
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n" << r.err;
}

TEST(BadInput, MissingKernel) {
  expect_clean_failure(run_ember(vm_json("/nonexistent/vmlinux"), seconds(30)), "kernel_image_path");
}

TEST(BadInput, KernelThatIsNeitherElfNorBzImage) {
  TempDir d;
  auto k = d.write("junk", std::string(8192, 'x'));
  expect_clean_failure(run_ember(vm_json(k), seconds(30)), "neither an ELF vmlinux nor a bzImage");
}

TEST(BadInput, EmptyKernel) {
  TempDir d;
  auto k = d.write("empty", "");
  expect_clean_failure(run_ember(vm_json(k), seconds(30)), "kernel");
}

TEST(BadInput, TruncatedElfKernel) {
  TempDir d;
  std::string full;
  {
    std::ifstream in(guest_path("hello"), std::ios::binary);
    full.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(full.size(), 200u);
  for (size_t cut : {size_t{20}, size_t{64}, size_t{100}, full.size() / 2}) {
    auto k = d.write("cut" + std::to_string(cut), full.substr(0, cut));
    auto r = run_ember(vm_json(k), seconds(30));
    expect_clean_failure(r, "kernel");
  }
}

TEST(BadInput, InitrdTooBigForMemory) {
  TempDir d;
  auto initrd = d.write("initrd", std::string(40u << 20, 'i'));
  std::string cfg = R"({"boot-source": {"kernel_image_path": ")" + guest_path("hello") +
                    R"(", "initrd_path": ")" + initrd + R"("}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}})";
  expect_clean_failure(run_ember(cfg, seconds(30)), "initrd");
}

TEST(BadInput, VcpuCountZeroAndThousand) {
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 0), seconds(30)), "vcpu_count");
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 1000), seconds(30)), "vcpu_count");
}

TEST(BadInput, MemoryZeroAndMoreThanTheHost) {
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 1, 0), seconds(30)), "mem_size_mib");
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 1, 64 << 20), seconds(30)), "mem_size_mib");
}

TEST(BadInput, MemoryTooSmallForTheKernel) {
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 1, 1), seconds(30)), "kernel");
}

TEST(BadInput, UnknownConfigKey) {
  std::string cfg = R"({"boot-source": {"kernel_image_path": "x"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "vcpus": 2}})";
  expect_clean_failure(run_ember(cfg, seconds(30)), "machine-config: An error occurred when deserializing the json body of a request: unknown field `vcpus`");
  expect_clean_failure(run_ember(R"({"boot_source": {}})", seconds(30)), "unknown key 'boot_source'");
}

TEST(BadInput, WrongTypesAndBrokenJson) {
  expect_clean_failure(run_ember(R"({"machine-config": {"vcpu_count": "two", "mem_size_mib": 64}})", seconds(30)),
                       "machine-config.vcpu_count");
  expect_clean_failure(run_ember(R"({"boot-source": )", seconds(30)), "not valid JSON");
}

TEST(BadInput, BootArgsTooLong) {
  expect_clean_failure(run_ember(vm_json(guest_path("hello"), 1, 128, std::string(5000, 'a')), seconds(30)),
                       "boot_args");
}

TEST(BadInput, MissingConfigFileAndUnknownFlag) {
  expect_clean_failure(run_process({EMBER_BINARY, "--no-api", "--config-file", "/nonexistent.json"}, seconds(30)),
                       "--config-file");
  auto r = run_process({EMBER_BINARY, "--no-such-flag"}, seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.signal, 0);
}

}  // namespace
}  // namespace ember::test
