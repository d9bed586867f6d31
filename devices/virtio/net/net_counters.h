// What a virtio-net device counts, for metrics: totals since the device was created. The
// device keeps them in atomics made from this struct (AtomicCounters, atomic_counters.h) and
// hands out copies (VirtioNet::counters()); the metrics writer turns totals into per-flush
// deltas. Fields: uint64_t only. Bytes are frame bytes, the 12-byte virtio header not included.
#pragma once

#include <cstdint>

namespace ember {

struct VirtioNetCounters {
  uint64_t rx_packets = 0;       // frames delivered to the guest
  uint64_t rx_bytes = 0;
  uint64_t rx_dropped = 0;       // frames read from the backend and thrown away (too long for
                                 // the guest's chain, shorter than the header)
  uint64_t rx_errors = 0;        // backend read failures, malformed receive chains
  uint64_t rx_rate_limited = 0;  // times the rx limiter held a frame back
  uint64_t tx_packets = 0;       // frames the backend took
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;       // chains not sent: malformed, too long, backend full
  uint64_t tx_errors = 0;        // backend write failures (e.g. the kernel refused the header)
  uint64_t tx_rate_limited = 0;  // times the tx limiter held a chain back
  uint64_t queue_errors = 0;     // queue or event processing failed: the driver broke a queue
  // Added for Firecracker's net metrics (its names in vmm/metrics/README.md).
  uint64_t rx_read_errors = 0;         // backend reads that failed (of rx_errors)
  uint64_t tx_malformed = 0;           // transmit chains refused as malformed (of tx_dropped)
  uint64_t rx_queue_notifications = 0;
  uint64_t tx_queue_notifications = 0;
  uint64_t backend_events = 0;         // the backend (tap) became readable
  uint64_t rx_limiter_events = 0;      // rate limiter timer events
  uint64_t tx_limiter_events = 0;
  uint64_t config_writes = 0;          // driver writes to the read-only config space
  uint64_t tx_detoured = 0;            // frames for the interface's own service (the MMDS), not sent
};

}  // namespace ember
