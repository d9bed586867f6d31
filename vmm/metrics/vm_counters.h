// The counters a running microVM exposes for metrics, as plain copies: its vCPUs' exits
// (summed over vCPUs) and each virtio device's counters. Totals since the VM was built; the
// metrics writer (vmm/metrics/metrics_report.h) turns them into per-flush deltas.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "devices/virtio/block/block_counters.h"
#include "devices/virtio/net/net_counters.h"
#include "devices/virtio/vsock/vsock_counters.h"

namespace ember {

// KVM_RUN exits by reason (struct kvm_run's exit_reason, linux/kvm.h).
struct VcpuExitCounters {
  uint64_t io_in = 0;           // KVM_EXIT_IO, port reads
  uint64_t io_out = 0;          // KVM_EXIT_IO, port writes
  uint64_t mmio_read = 0;       // KVM_EXIT_MMIO
  uint64_t mmio_write = 0;
  uint64_t hlt = 0;             // KVM_EXIT_HLT
  uint64_t shutdown = 0;        // KVM_EXIT_SHUTDOWN: a triple fault
  uint64_t system_event = 0;    // KVM_EXIT_SYSTEM_EVENT (reset, shutdown)
  uint64_t internal_error = 0;  // KVM_EXIT_INTERNAL_ERROR
  uint64_t fail_entry = 0;      // KVM_EXIT_FAIL_ENTRY
  uint64_t other = 0;           // any reason ember does not handle
  // KVM_RUN calls that ended the vCPU with an error: the ioctl itself failed, or the exit
  // was internal_error, fail_entry or other.
  uint64_t failures = 0;

  VcpuExitCounters& operator+=(const VcpuExitCounters& o) {
    io_in += o.io_in;
    io_out += o.io_out;
    mmio_read += o.mmio_read;
    mmio_write += o.mmio_write;
    hlt += o.hlt;
    shutdown += o.shutdown;
    system_event += o.system_event;
    internal_error += o.internal_error;
    fail_entry += o.fail_entry;
    other += o.other;
    failures += o.failures;
    return *this;
  }
};

struct VmCounters {
  VcpuExitCounters vcpu;                              // summed over vCPUs
  std::map<std::string, VirtioBlockCounters> blocks;  // by drive_id
  std::map<std::string, VirtioNetCounters> nets;      // by iface_id
  std::optional<VirtioVsockCounters> vsock;           // when the VM has a vsock device
};

}  // namespace ember
