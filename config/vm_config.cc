#include "config/vm_config.h"

#include <sys/sysinfo.h>

#include <algorithm>

namespace ember {

bool is_valid_device_id(std::string_view id) {
  constexpr size_t kMaxIdLength = 64;
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

uint64_t host_memory_bytes() {
  struct sysinfo si {};
  if (::sysinfo(&si) != 0) return 0;
  return (static_cast<uint64_t>(si.totalram) + si.totalswap) * si.mem_unit;
}

Result<void> validate_machine_config(const MachineConfig& m, uint64_t host_mem_bytes) {
  // Firecracker's MachineConfigError text for both (vmm_config/machine_config.rs), then ember's
  // detail: with SMT a core holds two threads, so the count is 1 or even.
  const auto vcpu_count_error = [&m](std::string_view detail) {
    return make_error("Machine config error: The number of vCPUs must be greater than 0, less than " +
                      std::to_string(kMaxVcpus) +
                      " and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got " +
                      std::to_string(m.vcpu_count) + std::string(detail) + ")");
  };
  if (m.vcpu_count < 1 || m.vcpu_count > kMaxVcpus) return vcpu_count_error("");
  if (m.smt && m.vcpu_count > 1 && m.vcpu_count % 2 == 1) return vcpu_count_error(" with smt");
  if (m.mem_size_mib < 1)
    return make_error("Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured "
                      "page size. (machine-config.mem_size_mib: got 0)");
  // Beyond this the byte count overflows, or the VM cannot possibly be backed by this host.
  if (m.mem_size_mib > (host_mem_bytes >> 20))
    return make_error("machine-config.mem_size_mib " + std::to_string(m.mem_size_mib) +
                      " is more than this host's memory (" + std::to_string(host_mem_bytes >> 20) + " MiB)");
  return {};
}

}  // namespace ember
