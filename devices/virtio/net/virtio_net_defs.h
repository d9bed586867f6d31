// virtio-net constants from the virtio 1.2 specification, §5.1.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::virtio_net {

// Feature bits (§5.1.3).
inline constexpr unsigned kFeatureCsum = 0;        // VIRTIO_NET_F_CSUM: driver sends partial csums
inline constexpr unsigned kFeatureGuestCsum = 1;   // VIRTIO_NET_F_GUEST_CSUM
inline constexpr unsigned kFeatureMtu = 3;         // VIRTIO_NET_F_MTU
inline constexpr unsigned kFeatureMac = 5;         // VIRTIO_NET_F_MAC
inline constexpr unsigned kFeatureGuestTso4 = 7;   // VIRTIO_NET_F_GUEST_TSO4
inline constexpr unsigned kFeatureGuestTso6 = 8;   // VIRTIO_NET_F_GUEST_TSO6
inline constexpr unsigned kFeatureGuestUfo = 10;   // VIRTIO_NET_F_GUEST_UFO
inline constexpr unsigned kFeatureHostTso4 = 11;   // VIRTIO_NET_F_HOST_TSO4
inline constexpr unsigned kFeatureHostTso6 = 12;   // VIRTIO_NET_F_HOST_TSO6
inline constexpr unsigned kFeatureHostUfo = 14;    // VIRTIO_NET_F_HOST_UFO
inline constexpr unsigned kFeatureMrgRxbuf = 15;   // VIRTIO_NET_F_MRG_RXBUF (not offered)
inline constexpr unsigned kFeatureStatus = 16;     // VIRTIO_NET_F_STATUS

// struct virtio_net_hdr (§5.1.6), 12 bytes with VIRTIO_F_VERSION_1 whether or not
// VIRTIO_NET_F_MRG_RXBUF is negotiated:
//   u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size; le16 csum_start; le16 csum_offset;
//   le16 num_buffers;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kHeaderNumBuffersOffset = 10;
// flags (§5.1.6): the L4 checksum is left for the device, from csum_start on.
inline constexpr uint8_t kHeaderFlagNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM

// The largest frame (after the header) either direction carries: §5.1.6.3.1 has a driver
// that accepts TSO/UFO post receive buffers of at least 65562 bytes, header included, so
// frames up to 65562 - 12 bytes always fit; a transmitted chain longer than that is refused.
inline constexpr size_t kMaxFrameSize = 65562 - kHeaderSize;

// Device configuration layout (§5.1.4, struct virtio_net_config), up to mtu:
//   u8 mac[6]; le16 status; le16 max_virtqueue_pairs; le16 mtu;
inline constexpr size_t kConfigMac = 0;
inline constexpr size_t kConfigStatus = 6;
inline constexpr size_t kConfigMaxQueuePairs = 8;
inline constexpr size_t kConfigMtu = 10;
inline constexpr size_t kConfigSize = 12;
inline constexpr uint16_t kStatusLinkUp = 1;  // VIRTIO_NET_S_LINK_UP

// Queue indices (§5.1.2): receiveq1, transmitq1; no control queue.
inline constexpr uint16_t kRxQueue = 0;
inline constexpr uint16_t kTxQueue = 1;

// Limits of the MTU the device may advertise (§5.1.4.1: at least 68; 16 bits).
inline constexpr uint32_t kMinMtu = 68;

}  // namespace ember::virtio_net
