// What a virtio-block device counts, for metrics: totals since the device was created. The
// device keeps them in atomics made from this struct (AtomicCounters, atomic_counters.h) and
// hands out copies (VirtioBlock::counters()); the metrics writer turns totals into per-flush
// deltas. Fields: uint64_t only.
#pragma once

#include <cstdint>

namespace ember {

struct VirtioBlockCounters {
  uint64_t read_requests = 0;   // IN requests that succeeded
  uint64_t write_requests = 0;  // OUT requests that succeeded
  uint64_t flush_requests = 0;
  uint64_t get_id_requests = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t io_errors = 0;     // requests answered VIRTIO_BLK_S_IOERR (malformed or failed)
  uint64_t unsupported = 0;   // requests answered VIRTIO_BLK_S_UNSUPP
  uint64_t rate_limited = 0;  // times the rate limiter held a request back
  uint64_t queue_errors = 0;  // queue or event processing failed: the driver broke the queue
  // Added for Firecracker's block metrics (its names in vmm/metrics/README.md).
  uint64_t invalid_requests = 0;     // malformed requests (answered IOERR without touching the disk)
  uint64_t execute_errors = 0;       // requests the engine refused or that failed on the disk
  uint64_t queue_notifications = 0;  // queue notifications served
  uint64_t no_avail_buffer = 0;      // notifications that found no request in the queue
  uint64_t limiter_events = 0;       // rate limiter timer events
  uint64_t config_writes = 0;        // driver writes to the read-only config space
  uint64_t updates = 0;              // backing file swaps asked for (PATCH /drives)
  uint64_t update_errors = 0;        // of which failed
};

}  // namespace ember
