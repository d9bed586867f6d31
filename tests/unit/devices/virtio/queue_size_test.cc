// The queue sizes block, net and vsock accept in their configs.
#include "devices/virtio/queue_size.h"

#include <gtest/gtest.h>

#include <string>

namespace ember {
namespace {

TEST(QueueSizeTest, PowersOfTwoFromTwoTo32768) {
  for (uint32_t size = 2; size <= 32768; size *= 2)
    EXPECT_TRUE(valid_device_queue_size(size)) << size;
  EXPECT_FALSE(valid_device_queue_size(0));
  EXPECT_FALSE(valid_device_queue_size(1)) << "a block request needs two descriptors";
  EXPECT_FALSE(valid_device_queue_size(3));
  EXPECT_FALSE(valid_device_queue_size(100));
  EXPECT_FALSE(valid_device_queue_size(255));
  EXPECT_FALSE(valid_device_queue_size(65536)) << "§2.7: 32768 at most";
  EXPECT_FALSE(valid_device_queue_size(0x80000000u));
}

TEST(QueueSizeTest, TheErrorNamesTheDeviceAndTheRule) {
  EXPECT_TRUE(check_device_queue_size("net", 256).ok());
  auto r = check_device_queue_size("vsock", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "vsock queue size 100 is not a power of two between 2 and 32768");
  EXPECT_FALSE(check_device_queue_size("block", 1).ok());
  EXPECT_FALSE(check_device_queue_size("block", 65536).ok());
}

}  // namespace
}  // namespace ember
