#include "base/ring_buffer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace ember {
namespace {

TEST(RingBuffer, StartsEmpty) {
  RingBuffer<uint8_t, 4> r;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.full());
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.free_space(), 4u);
  EXPECT_EQ((RingBuffer<uint8_t, 4>::kCapacity), 4u);
}

TEST(RingBuffer, PopsInPushOrder) {
  RingBuffer<int, 4> r;
  r.push(1);
  r.push(2);
  r.push(3);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.free_space(), 1u);
  EXPECT_EQ(r.pop(), 1);
  EXPECT_EQ(r.pop(), 2);
  EXPECT_EQ(r.pop(), 3);
  EXPECT_TRUE(r.empty());
}

TEST(RingBuffer, WrapsAroundItsStorage) {
  RingBuffer<int, 3> r;
  // Walk the head round the storage several times, keeping two elements in.
  int next_in = 0, next_out = 0;
  r.push(next_in++);
  r.push(next_in++);
  for (int i = 0; i < 10; ++i) {
    r.push(next_in++);
    EXPECT_TRUE(r.full());
    EXPECT_EQ(r[0], next_out);
    EXPECT_EQ(r[2], next_in - 1);
    EXPECT_EQ(r.pop(), next_out++);
  }
  EXPECT_EQ(r.size(), 2u);
}

TEST(RingBuffer, IndexesOldestFirst) {
  RingBuffer<std::string, 2> r;
  r.push("a");
  r.push("b");
  EXPECT_EQ(r.pop(), "a");
  r.push("c");  // wraps
  EXPECT_EQ(r[0], "b");
  EXPECT_EQ(r[1], "c");
}

TEST(RingBuffer, ClearEmptiesIt) {
  RingBuffer<uint8_t, 2> r;
  r.push(7);
  r.push(8);
  r.clear();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.free_space(), 2u);
  r.push(9);
  EXPECT_EQ(r.pop(), 9);
}

TEST(RingBuffer, AssignReplacesTheContents) {
  RingBuffer<uint8_t, 4> r;
  r.push(1);
  (void)r.pop();
  r.push(2);  // the head is no longer at the start of the storage
  const std::array<uint8_t, 4> values = {10, 11, 12, 13};
  r.assign(values);
  EXPECT_TRUE(r.full());
  for (uint8_t v : values) EXPECT_EQ(r.pop(), v);
  r.assign({});
  EXPECT_TRUE(r.empty());
}

TEST(RingBufferDeathTest, RefusesOverflowAndUnderflow) {
  RingBuffer<uint8_t, 1> r;
  EXPECT_DEATH((void)r.pop(), "underflow");
  r.push(1);
  EXPECT_DEATH(r.push(2), "overflow");
  EXPECT_DEATH((void)r[1], "out of range");
  const std::array<uint8_t, 2> two = {1, 2};
  EXPECT_DEATH(r.assign(two), "capacity");
}

}  // namespace
}  // namespace ember
