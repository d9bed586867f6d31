// The counters a running microVM exposes for metrics, as plain copies: its vCPUs' exits
// (summed over vCPUs), each virtio device's counters, the legacy devices' and the interrupts. Totals since the VM was built; the
// metrics writer (vmm/metrics/metrics_report.h) turns them into per-flush deltas.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "devices/legacy/legacy_counters.h"
#include "devices/virtio/block/block_counters.h"
#include "devices/virtio/net/net_counters.h"
#include "devices/virtio/vsock/vsock_counters.h"

namespace ember {

// Firecracker's LatencyAggregateMetrics: the shortest and longest time seen since start
// (gauges; 0 until the first) and the sum of all (a counter), in microseconds.
struct LatencyAgg {
  uint64_t min_us = 0;
  uint64_t max_us = 0;
  uint64_t sum_us = 0;

  void record(uint64_t us) {
    if (min_us == 0 || us < min_us) min_us = us;
    if (us > max_us) max_us = us;
    sum_us += us;
  }
  // Two aggregates as one: the smaller non-zero minimum, the larger maximum, the sums added.
  LatencyAgg& operator+=(const LatencyAgg& o) {
    if (o.min_us != 0 && (min_us == 0 || o.min_us < min_us)) min_us = o.min_us;
    if (o.max_us > max_us) max_us = o.max_us;
    sum_us += o.sum_us;
    return *this;
  }
};

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
  // KVM_RUN calls that ended the vCPU with an error, as Firecracker counts vcpu.failures: the
  // ioctl itself failed, or the exit was one the VMM does not expect to handle (internal_error,
  // fail_entry, shutdown, hlt, a system event other than reset/shutdown, or other).
  uint64_t failures = 0;
  uint64_t kvmclock_ctrl_fails = 0;  // KVM_KVMCLOCK_CTRL refused at a pause
  // Time spent handling each kind of exit on the bus (Firecracker's exit_*_agg).
  LatencyAgg io_in_agg;
  LatencyAgg io_out_agg;
  LatencyAgg mmio_read_agg;
  LatencyAgg mmio_write_agg;

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
    kvmclock_ctrl_fails += o.kvmclock_ctrl_fails;
    io_in_agg += o.io_in_agg;
    io_out_agg += o.io_out_agg;
    mmio_read_agg += o.mmio_read_agg;
    mmio_write_agg += o.mmio_write_agg;
    return *this;
  }
};

struct VmCounters {
  VcpuExitCounters vcpu;                              // summed over vCPUs
  std::map<std::string, VirtioBlockCounters> blocks;  // by drive_id
  std::map<std::string, VirtioNetCounters> nets;      // by iface_id
  std::optional<VirtioVsockCounters> vsock;           // when the VM has a vsock device
  SerialCounters uart;
  I8042Counters i8042;
  uint64_t interrupt_triggers = 0;  // interrupts raised by the devices (irqfd writes)
};

}  // namespace ember
