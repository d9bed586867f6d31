// The metadata service of one ember process: the data store the API fills, the HTTP answers
// every MMDS-enabled interface gives from it, and Firecracker's `mmds` counters. The
// controller owns it; each interface named in the MMDS config gets a network stack of its own
// (make_stack) that answers from this one store, as Firecracker's interfaces share one Mmds.
// The stacks refer to this object: it must outlive the VM they are in.
#pragma once

#include <cstddef>
#include <memory>

#include "devices/virtio/net/frame_detour.h"
#include "mmds/counters.h"
#include "mmds/data_store.h"
#include "mmds/http_service.h"
#include "mmds/ipv4_address.h"

namespace ember {

class MmdsService {
 public:
  explicit MmdsService(size_t size_limit = MmdsDataStore::kDefaultSizeLimit);
  MmdsService(const MmdsService&) = delete;
  MmdsService& operator=(const MmdsService&) = delete;

  [[nodiscard]] MmdsDataStore& store() { return store_; }
  [[nodiscard]] const MmdsDataStore& store() const { return store_; }
  [[nodiscard]] MmdsCounters counters() const { return counters_.snapshot(); }
  // A network stack answering at `address`, for one virtio-net device (its FrameDetour).
  [[nodiscard]] std::shared_ptr<FrameDetour> make_stack(const Ipv4Address& address);

 private:
  MmdsDataStore store_;
  MmdsCounterSet counters_;
  MmdsHttpService http_{store_, counters_};
};

}  // namespace ember
