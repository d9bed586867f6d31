// A built microVM: KVM objects, guest memory, devices on their buses, vCPU threads; and the
// VMM thread's loop that runs it until the guest or an error ends it.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "vmm/config/vm_config.h"
#include "vmm/util/result.h"

namespace ember {

struct VmOptions {
  VmConfig config;
  bool boot_timer = false;
  int console_out_fd = 1;
  int console_in_fd = 0;  // -1: no console input
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
};

class Vm {
 public:
  virtual ~Vm() = default;
  // Starts the vCPUs and serves the VM until it ends; returns ember's exit status.
  [[nodiscard]] virtual int run() = 0;
};

// Builds everything up to (not including) the first KVM_RUN.
[[nodiscard]] Result<std::unique_ptr<Vm>> build_vm(const VmOptions& options);

}  // namespace ember
