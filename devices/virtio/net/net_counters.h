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
};

}  // namespace ember
