#include "config/vm_config.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

constexpr uint64_t kHost = 16ull << 30;

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
  m.smt = true;  // two threads per core: 1 or an even count
  EXPECT_TRUE(validate_machine_config(m, kHost).ok());
  m.vcpu_count = 3;
  EXPECT_FALSE(validate_machine_config(m, kHost).ok());
}

}  // namespace
}  // namespace ember
