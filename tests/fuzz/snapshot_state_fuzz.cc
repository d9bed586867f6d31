// Fuzzes what ember reads from a snapshot state file: the file's framing (magic, version, size,
// CRC) and, behind it, the microVM state decoder. The first byte picks the layer: odd feeds
// the whole file (the CRC stops most mutations there), even feeds the payload decoder
// directly, as a file with a matching CRC would.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "snapshot/state_file.h"
#include "vmm/snapshot/microvm_state.h"

namespace {

ember::MicrovmState sample_state() {
  ember::MicrovmState s;
  s.ember_version = "fuzz";
  s.config.machine.vcpu_count = 1;
  s.config.machine.mem_size_mib = 128;
  ember::DriveConfig d;
  d.drive_id = "rootfs";
  d.path_on_host = "/rootfs.ext4";
  d.is_root_device = true;
  d.rate_limiter = ember::RateLimiterConfig{ember::TokenBucketConfig{1000, 0, 100}, std::nullopt};
  s.config.drives.push_back(d);
  s.config.vsock = ember::VsockConfig{3, "/v.sock", std::nullopt};
  s.memory_regions.push_back({0, 128ull << 20});
  s.vm.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
  s.vm.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  s.vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
  ember::VcpuState v;
  v.cpuid.resize(2);
  v.xsave.resize(4096);
  v.msrs.resize(3);
  s.vcpus.push_back(v);
  ember::VirtioDeviceSnapshot dev;
  dev.id = "drive rootfs";
  dev.device_type = 2;
  dev.transport.queues.resize(1);
  dev.transport.device_state = {1, 2, 3, 4};
  s.virtio.push_back(dev);
  return s;
}

void write_seed(const std::string& path, uint8_t layer, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(layer));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("EMBER_FUZZ_WRITE_SEEDS")) {
    const std::vector<uint8_t> payload = ember::encode_microvm_state(sample_state());
    write_seed(std::string(dir) + "/payload", 0, payload);
    write_seed(std::string(dir) + "/file", 1, ember::encode_state_file(payload));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if ((data[0] & 1) != 0) {
    auto payload = ember::decode_state_file(rest);
    if (payload) (void)ember::decode_microvm_state(*payload);
  } else {
    auto state = ember::decode_microvm_state(rest);
    // What decodes must encode back to the same bytes: nothing is silently dropped.
    if (state && ember::encode_microvm_state(*state) != std::vector<uint8_t>(rest.begin(), rest.end())) std::abort();
  }
  return 0;
}
