// The whole of a paused microVM except its memory: what the state file's payload holds
// (snapshot/state_file.h). Devices are rebuilt on restore from the configuration saved here
// (with the caller's overrides), in the same order, then given their saved state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "config/vm_config.h"
#include "memory/guest_memory.h"
#include "vmm/snapshot/vcpu_state.h"
#include "vmm/snapshot/virtio_state.h"
#include "vmm/snapshot/vm_state.h"

namespace ember {

struct MicrovmState {
  std::string ember_version;
  // boot_source is kept for GET /vm/config only; the kernel is not loaded again.
  VmConfig config;
  std::vector<MemoryRegionSpec> memory_regions;  // in memory-file order
  VmState vm;
  std::vector<VcpuState> vcpus;
  Serial::State serial{};
  I8042::State i8042{};
  std::vector<VirtioDeviceSnapshot> virtio;
};

[[nodiscard]] std::vector<uint8_t> encode_microvm_state(const MicrovmState& state);
// Checks structure and ranges (counts, sizes, ids); the devices check their own states when
// they are restored.
[[nodiscard]] Result<MicrovmState> decode_microvm_state(std::span<const uint8_t> payload);

}  // namespace ember
