#include "vmm/device_configs.h"

namespace ember {
namespace {
TokenBucketLimits to_bucket(const TokenBucketConfig& b) {
  return TokenBucketLimits{b.size, b.one_time_burst, b.refill_time_ms};
}
}  // namespace

RateLimiterLimits to_limits(const std::optional<RateLimiterConfig>& c) {
  RateLimiterLimits l;
  if (!c) return l;
  if (c->bandwidth) l.bandwidth = to_bucket(*c->bandwidth);
  if (c->ops) l.ops = to_bucket(*c->ops);
  return l;
}

RateLimiterUpdate to_update(const std::optional<RateLimiterConfig>& c) {
  RateLimiterLimits l = to_limits(c);
  return RateLimiterUpdate{l.bandwidth, l.ops};
}

VirtioBlockConfig block_device_config(const DriveConfig& drive) {
  VirtioBlockConfig bc;
  bc.path = drive.path_on_host;
  bc.read_only = drive.is_read_only;
  bc.id = drive.drive_id;
  bc.engine = drive.io_engine == DriveIoEngine::kAsync ? BlockEngineKind::kAsync : BlockEngineKind::kSync;
  bc.rate_limiter = to_limits(drive.rate_limiter);
  return bc;
}

VirtioNetConfig net_device_config(const NetworkInterfaceConfig& iface) {
  VirtioNetConfig nc;
  nc.id = iface.iface_id;
  nc.host_dev_name = iface.host_dev_name;
  nc.guest_mac = iface.guest_mac;
  nc.mtu = iface.mtu;
  nc.rx_rate_limiter = to_limits(iface.rx_rate_limiter);
  nc.tx_rate_limiter = to_limits(iface.tx_rate_limiter);
  return nc;
}

VirtioVsockConfig vsock_device_config(const VsockConfig& vsock) {
  VirtioVsockConfig vc;
  vc.guest_cid = vsock.guest_cid;
  vc.uds_path = vsock.uds_path;
  return vc;
}

}  // namespace ember
