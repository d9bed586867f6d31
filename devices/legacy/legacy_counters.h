// What the legacy devices count, for metrics (Firecracker's `uart` and `i8042` groups): totals
// since the device was created. Each device keeps them in atomics made from its struct
// (AtomicCounters, devices/virtio/atomic_counters.h) and hands out copies (counters()); the
// metrics writer turns totals into per-flush deltas. Fields: uint64_t only.
#pragma once

#include <cstdint>

namespace ember {

// The 16550A (Firecracker's SerialDeviceMetrics, same meanings).
struct SerialCounters {
  uint64_t read_count = 0;          // bytes the guest took from the receive buffer (RBR)
  uint64_t write_count = 0;         // bytes the guest sent out through THR
  uint64_t missed_read_count = 0;   // reads that were not one byte wide
  uint64_t missed_write_count = 0;  // writes that were not one byte wide
};

// The i8042 (Firecracker's I8042DeviceMetrics, same meanings).
struct I8042Counters {
  uint64_t read_count = 0;          // bytes read from the data or status port
  uint64_t write_count = 0;         // bytes written to the data or command port
  uint64_t missed_read_count = 0;   // reads of the other ports, or not one byte wide
  uint64_t missed_write_count = 0;  // writes to the other ports, or not one byte wide
  uint64_t reset_count = 0;         // CPU resets the guest asked for (command 0xFE)
};

}  // namespace ember
