// What a snapshot keeps of one virtio device on its transport.
#pragma once

#include <cstdint>
#include <string>

#include "devices/virtio/mmio_transport.h"

namespace ember {

struct VirtioDeviceSnapshot {
  std::string id;  // "drive rootfs", "net eth0", "vsock": matched against the rebuilt devices
  uint32_t device_type = 0;
  VirtioMmioTransport::State transport;
};

}  // namespace ember
