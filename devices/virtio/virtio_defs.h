// Constants shared by every virtio device and transport, from the virtio 1.2 specification.
#pragma once

#include <bit>
#include <cstdint>

namespace ember::virtio {

// Everything virtio puts in memory or registers is little-endian (virtio 1.2 §1.4); ember is
// x86-64 only, so host order is guest order and fields are copied without conversion.
static_assert(std::endian::native == std::endian::little, "virtio structures are little-endian");

// Device status bits (§2.1 "Device Status Field").
inline constexpr uint32_t kStatusAcknowledge = 1;
inline constexpr uint32_t kStatusDriver = 2;
inline constexpr uint32_t kStatusDriverOk = 4;
inline constexpr uint32_t kStatusFeaturesOk = 8;
inline constexpr uint32_t kStatusDeviceNeedsReset = 64;
inline constexpr uint32_t kStatusFailed = 128;

// Reserved (device-independent) feature bits (§6 "Reserved Feature Bits").
inline constexpr unsigned kFeatureIndirectDesc = 28;  // VIRTIO_F_INDIRECT_DESC
inline constexpr unsigned kFeatureEventIdx = 29;      // VIRTIO_F_EVENT_IDX
inline constexpr unsigned kFeatureVersion1 = 32;      // VIRTIO_F_VERSION_1

[[nodiscard]] constexpr uint64_t feature_bit(unsigned bit) { return uint64_t{1} << bit; }
[[nodiscard]] constexpr bool has_feature(uint64_t features, unsigned bit) {
  return (features & feature_bit(bit)) != 0;
}

// Device IDs (§5 "Device Types").
inline constexpr uint32_t kDeviceIdNet = 1;
inline constexpr uint32_t kDeviceIdBlock = 2;
inline constexpr uint32_t kDeviceIdVsock = 19;

// Split virtqueue descriptor flags (§2.7.5 "The Virtqueue Descriptor Table").
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;

// Available ring flag (§2.7.6) with which a driver without VIRTIO_F_EVENT_IDX asks for no
// used-buffer notifications.
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;

// The largest queue size the split format allows (§2.7: "The maximum Queue Size value is 32768").
inline constexpr uint16_t kMaxQueueSizeLimit = 32768;

}  // namespace ember::virtio
