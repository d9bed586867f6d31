// What the metadata service counts: Firecracker's `mmds` metrics group, field for field (its
// names and meanings), so that the metrics line reads the same. Totals since ember started;
// the metrics writer turns them into per-flush deltas. Kept in AtomicCounters (the network
// stack counts on the VMM thread, metrics read on theirs).
#pragma once

#include <cstdint>

#include "devices/virtio/atomic_counters.h"

namespace ember {

struct MmdsCounters {
  uint64_t rx_accepted = 0;          // frames for the MMDS the stack took
  uint64_t rx_accepted_err = 0;      // frames for the MMDS that failed to parse or were refused
  uint64_t rx_accepted_unusual = 0;  // IPv4 frames for the MMDS that are not TCP
  uint64_t rx_bad_eth = 0;           // frames whose Ethernet header could not be read
  uint64_t rx_invalid_token = 0;     // GETs with a token that is unknown or expired
  uint64_t rx_no_token = 0;          // GETs without a token
  uint64_t rx_count = 0;             // TCP segments the stack accepted
  uint64_t tx_bytes = 0;             // bytes of the frames written for the guest
  uint64_t tx_count = 0;             // frames written for the guest
  uint64_t tx_errors = 0;            // frames that could not be written
  uint64_t tx_frames = 0;            // frames written for the guest (Firecracker counts both)
  uint64_t connections_created = 0;
  uint64_t connections_destroyed = 0;
};

using MmdsCounterSet = AtomicCounters<MmdsCounters>;

}  // namespace ember
