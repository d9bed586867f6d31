// The API's device configurations, as the devices take them. One place, so that checking a
// configuration before boot and creating the device at boot see the same values.
#pragma once

#include <optional>

#include "config/models.h"
#include "devices/rate_limiter/rate_limiter.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/vsock/virtio_vsock.h"

namespace ember {

[[nodiscard]] RateLimiterLimits to_limits(const std::optional<RateLimiterConfig>& c);
[[nodiscard]] RateLimiterUpdate to_update(const std::optional<RateLimiterConfig>& c);
[[nodiscard]] VirtioBlockConfig block_device_config(const DriveConfig& drive);
[[nodiscard]] VirtioNetConfig net_device_config(const NetworkInterfaceConfig& iface);
[[nodiscard]] VirtioVsockConfig vsock_device_config(const VsockConfig& vsock);

}  // namespace ember
