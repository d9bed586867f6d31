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
};

}  // namespace ember
