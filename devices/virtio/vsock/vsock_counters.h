// What a virtio-vsock device counts, for metrics: totals since the device was created, except
// active_connections, which is the number open now. The device keeps them in atomics made from
// this struct (AtomicCounters, atomic_counters.h) and hands out copies (VirtioVsock::counters());
// the metrics writer turns totals into per-flush deltas. Fields: uint64_t only. Bytes are
// stream payload.
#pragma once

#include <cstdint>

namespace ember {

struct VirtioVsockCounters {
  uint64_t host_connections = 0;     // host-initiated connections the guest accepted
  uint64_t guest_connections = 0;    // guest-initiated connections to a host listener
  uint64_t active_connections = 0;   // open now, in any state
  uint64_t refused_connections = 0;  // over max_connections, bad commands, nothing listening
  uint64_t connect_timeouts = 0;     // host-initiated REQUESTs the guest never answered
  uint64_t rx_bytes = 0;             // host to guest
  uint64_t tx_bytes = 0;             // guest to host
  uint64_t rx_packets = 0;           // packets written to rx buffers
  uint64_t tx_packets = 0;           // packets taken from the tx queue
  uint64_t resets_sent = 0;          // RSTs to the guest
  uint64_t resets_received = 0;      // RSTs from the guest
  uint64_t bad_packets = 0;          // malformed or out-of-protocol guest packets
  uint64_t transport_resets = 0;     // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET events delivered
  uint64_t queue_errors = 0;         // queue or event processing failed: the driver broke a queue
  // Added for Firecracker's vsock metrics (its names in vmm/metrics/README.md).
  uint64_t rx_queue_notifications = 0;
  uint64_t tx_queue_notifications = 0;
  uint64_t config_writes = 0;        // driver writes to the read-only config space
};

}  // namespace ember
