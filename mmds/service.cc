#include "mmds/service.h"

#include "devices/rate_limiter/clock.h"
#include "mmds/net/network_stack.h"

namespace ember {

MmdsService::MmdsService(size_t size_limit) : store_(size_limit) {}

std::shared_ptr<FrameDetour> MmdsService::make_stack(const Ipv4Address& address) {
  return std::make_shared<MmdsNetworkStack>(address, http_, counters_, system_monotonic_clock());
}

}  // namespace ember
