#include "devices/virtio/queue.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using virtio_testing::Buf;
using virtio_testing::GuestQueue;
using virtio_testing::kIndirect;
using virtio_testing::kNext;
using virtio_testing::kWrite;

constexpr uint64_t kQueueBase = 0x10000;
constexpr uint64_t kData = 0x40000;

class QueueTest : public ::testing::Test {
 protected:
  // A ready, activated queue of `size` with the driver side at kQueueBase.
  void SetUpQueue(uint16_t size, bool event_idx = false, bool indirect = false) {
    guest_ = std::make_unique<GuestQueue>(mem_, size, kQueueBase);
    queue_ = std::make_unique<VirtQueue>(256);
    queue_->set_size(size);
    queue_->set_desc_table(guest_->desc_addr());
    queue_->set_avail_ring(guest_->avail_addr());
    queue_->set_used_ring(guest_->used_addr());
    queue_->set_negotiated(event_idx, indirect);
    queue_->set_ready(true);
    ASSERT_TRUE(queue_->activate(mem_).ok());
  }

  // Pops expecting an error whose message mentions `needle`.
  void ExpectPopError(const std::string& needle) {
    auto r = queue_->pop(&chain_);
    ASSERT_FALSE(r.ok()) << "popped a chain that should have been refused";
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }

  GuestMemory mem_ = virtio_testing::make_memory();
  std::unique_ptr<GuestQueue> guest_;
  std::unique_ptr<VirtQueue> queue_;
  DescriptorChain chain_;
};

TEST_F(QueueTest, EmptyQueuePopsNothing) {
  SetUpQueue(8);
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(QueueTest, PopsChainsInOrderWithTheirBuffers) {
  SetUpQueue(8);
  guest_->add_chain({{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}}, 0);
  guest_->add_chain({{kData + 0x3000, 100, false}}, 5);

  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(*r);
  EXPECT_EQ(chain_.head, 0);
  ASSERT_EQ(chain_.buffers.size(), 3u);
  EXPECT_EQ(chain_.buffers[0].addr, kData);
  EXPECT_EQ(chain_.buffers[0].len, 16u);
  EXPECT_FALSE(chain_.buffers[0].device_writable);
  EXPECT_EQ(chain_.buffers[1].len, 512u);
  EXPECT_TRUE(chain_.buffers[1].device_writable);
  EXPECT_TRUE(chain_.buffers[2].device_writable);

  r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(chain_.head, 5);
  ASSERT_EQ(chain_.buffers.size(), 1u);
  EXPECT_EQ(chain_.buffers[0].addr, kData + 0x3000);

  r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(queue_->next_avail(), 2);
}

TEST_F(QueueTest, AddUsedPublishesElementAndIndex) {
  SetUpQueue(8);
  guest_->add_chain({{kData, 16, true}}, 3);
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  ASSERT_TRUE(queue_->add_used(chain_.head, 7).ok());
  EXPECT_EQ(guest_->used_idx(), 1);
  EXPECT_EQ(guest_->used_id(0), 3u);
  EXPECT_EQ(guest_->used_len(0), 7u);
  EXPECT_FALSE(queue_->add_used(8, 0).ok()) << "a head outside the queue must be refused";
}

TEST_F(QueueTest, IndicesWrapAround16Bits) {
  SetUpQueue(4);
  // Start both sides just below the 16-bit wrap, as after 65534 requests.
  VirtQueue::State s = queue_->save_state();
  s.next_avail = s.next_used = 0xfffe;
  ASSERT_TRUE(queue_->restore_state(s).ok());
  ASSERT_TRUE(queue_->activate(mem_).ok());
  guest_->set_avail_idx(0xfffe);
  guest_->set_used_idx(0xfffe);
  for (int i = 0; i < 6; ++i) {
    const auto head = static_cast<uint16_t>(i % 4);
    guest_->add_chain({{kData + 0x100u * i, 8, true}}, head);
    auto r = queue_->pop(&chain_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(*r);
    EXPECT_EQ(chain_.head, head);
    EXPECT_EQ(chain_.buffers[0].addr, kData + 0x100u * i);
    ASSERT_TRUE(queue_->add_used(chain_.head, 8).ok());
  }
  EXPECT_EQ(queue_->next_avail(), 4);  // 0xfffe + 6, modulo 2^16
  EXPECT_EQ(guest_->used_idx(), 4);
  EXPECT_EQ(guest_->used_id(3), 1u);  // the sixth chain used slot (0xfffe + 5) % 4 = 3
}

TEST_F(QueueTest, IndirectTableIsFollowed) {
  SetUpQueue(8, false, /*indirect=*/true);
  const uint64_t table = kData + 0x8000;
  guest_->add_indirect_chain(2, table, {{kData, 16, false}, {kData + 0x1000, 4096, true},
                                        {kData + 0x3000, 1, true}});
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(*r);
  EXPECT_EQ(chain_.head, 2);
  ASSERT_EQ(chain_.buffers.size(), 3u);
  EXPECT_EQ(chain_.buffers[1].len, 4096u);
  EXPECT_TRUE(chain_.buffers[2].device_writable);
}

TEST_F(QueueTest, DirectDescriptorsThenIndirectTable) {
  // §2.7.5.3.2: zero or more direct descriptors followed by one indirect one.
  SetUpQueue(8, false, true);
  const uint64_t table = kData + 0x8000;
  guest_->write_desc(table, kData + 0x1000, 512, kWrite, 0);
  guest_->set_desc(0, kData, 16, kNext, 1);
  guest_->set_desc(1, table, 16, kIndirect, 0);
  guest_->publish(0);
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(chain_.buffers.size(), 2u);
  EXPECT_EQ(chain_.buffers[0].len, 16u);
  EXPECT_EQ(chain_.buffers[1].len, 512u);
}

TEST_F(QueueTest, IndirectWithoutNegotiationIsRefused) {
  SetUpQueue(8, false, /*indirect=*/false);
  guest_->add_indirect_chain(0, kData + 0x8000, {{kData, 16, false}});
  ExpectPopError("VIRTIO_F_INDIRECT_DESC");
}

TEST_F(QueueTest, NestedIndirectIsRefused) {
  SetUpQueue(8, false, true);
  const uint64_t table = kData + 0x8000;
  guest_->write_desc(table, kData + 0x9000, 16, kIndirect, 0);
  guest_->set_desc(0, table, 16, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("nesting");
}

TEST_F(QueueTest, IndirectTableLengthMustBeANonZeroMultipleOf16) {
  SetUpQueue(8, false, true);
  guest_->set_desc(0, kData + 0x8000, 24, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("multiple of 16");

  SetUpQueue(8, false, true);
  guest_->set_desc(0, kData + 0x8000, 0, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("multiple of 16");
}

TEST_F(QueueTest, IndirectTableLargerThanQueueIsRefused) {
  SetUpQueue(8, false, true);
  guest_->set_desc(0, kData + 0x8000, 16 * 9, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("larger than the queue size");
}

TEST_F(QueueTest, IndirectWithNextIsRefused) {
  SetUpQueue(8, false, true);
  guest_->set_desc(0, kData + 0x8000, 16, kIndirect | kNext, 1);
  guest_->publish(0);
  ExpectPopError("both INDIRECT and NEXT");
}

TEST_F(QueueTest, LoopInIndirectTableEnds) {
  SetUpQueue(8, false, true);
  const uint64_t table = kData + 0x8000;
  guest_->write_desc(table, kData, 16, kNext, 1);
  guest_->write_desc(table + 16, kData, 16, kNext, 0);
  guest_->set_desc(0, table, 32, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("loop");
}

TEST_F(QueueTest, IndirectNextOutsideTableIsRefused) {
  SetUpQueue(8, false, true);
  const uint64_t table = kData + 0x8000;
  guest_->write_desc(table, kData, 16, kNext, 2);
  guest_->write_desc(table + 16, kData, 16, 0, 0);
  guest_->set_desc(0, table, 32, kIndirect, 0);
  guest_->publish(0);
  ExpectPopError("outside its table");
}

TEST_F(QueueTest, DescriptorLoopEnds) {
  SetUpQueue(8);
  guest_->set_desc(0, kData, 16, kNext, 1);
  guest_->set_desc(1, kData, 16, kNext, 0);
  guest_->publish(0);
  ExpectPopError("loop");
}

TEST_F(QueueTest, SelfLoopEnds) {
  SetUpQueue(256);
  guest_->set_desc(7, kData, 16, kNext, 7);
  guest_->publish(7);
  ExpectPopError("longer than the queue size");
}

TEST_F(QueueTest, NextOutsideQueueIsRefused) {
  SetUpQueue(8);
  guest_->set_desc(0, kData, 16, kNext, 8);
  guest_->publish(0);
  ExpectPopError("outside a queue of size 8");
}

TEST_F(QueueTest, HeadOutsideQueueIsRefused) {
  SetUpQueue(8);
  guest_->publish(9);
  ExpectPopError("names descriptor 9");
}

TEST_F(QueueTest, BufferOutsideMemoryIsRefused) {
  SetUpQueue(8);
  guest_->add_chain({{0x500000, 16, false}});  // in no region
  ExpectPopError("outside guest memory");
}

TEST_F(QueueTest, BufferCrossingRegionEndIsRefused) {
  SetUpQueue(8);
  guest_->add_chain({{(1 << 20) - 8, 16, false}});  // last 8 bytes of the first region + hole
  ExpectPopError("outside guest memory");
}

TEST_F(QueueTest, BufferLengthThatWrapsTheAddressSpaceIsRefused) {
  SetUpQueue(8);
  guest_->add_chain({{0xffffffffffffff00ull, 0x200, false}});
  ExpectPopError("outside guest memory");
}

TEST_F(QueueTest, ChainOver4GiBIsRefused) {
  // §2.7.5.2: at most 2^32 bytes in a chain. Two (overlapping) 0xffff0000-byte buffers need
  // a large mapping; it is sparse and never touched.
  auto big = GuestMemory::create_anonymous({{0, 5ull << 30}});
  ASSERT_TRUE(big.ok());
  GuestQueue guest(*big, 4, kQueueBase);
  VirtQueue queue(4);
  queue.set_desc_table(guest.desc_addr());
  queue.set_avail_ring(guest.avail_addr());
  queue.set_used_ring(guest.used_addr());
  queue.set_ready(true);
  ASSERT_TRUE(queue.activate(*big).ok());
  guest.add_chain({{1ull << 30, 0xffff0000u, false}, {1ull << 30, 0xffff0000u, true}});
  auto r = queue.pop(&chain_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("2^32"), std::string::npos) << r.error().message;
}

TEST_F(QueueTest, ZeroLengthBuffersAreDropped) {
  SetUpQueue(8);
  guest_->add_chain({{0x900000, 0, false}, {kData, 16, false}});  // empty one outside memory
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(chain_.buffers.size(), 1u);
  EXPECT_EQ(chain_.buffers[0].addr, kData);
}

TEST_F(QueueTest, AvailIndexJumpingAheadIsAnError) {
  SetUpQueue(8);
  guest_->set_avail_idx(9);  // 9 new chains in an 8-entry ring: impossible
  ExpectPopError("more than the queue size");
}

TEST_F(QueueTest, AvailIndexMovingBackwardsIsAnError) {
  SetUpQueue(8);
  guest_->add_chain({{kData, 16, false}});
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  guest_->set_avail_idx(0);  // "unexposing" a buffer, §2.7.6.1; looks like 65535 ahead
  ExpectPopError("more than the queue size");
}

TEST_F(QueueTest, FullRingIsAccepted) {
  SetUpQueue(4);
  for (uint16_t i = 0; i < 4; ++i) guest_->add_chain({{kData + 64u * i, 16, false}}, i);
  for (uint16_t i = 0; i < 4; ++i) {
    auto r = queue_->pop(&chain_);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(chain_.head, i);
  }
}

TEST_F(QueueTest, ActivateChecksSizeAndRings) {
  GuestQueue guest(mem_, 8, kQueueBase);
  VirtQueue q(256);
  q.set_desc_table(guest.desc_addr());
  q.set_avail_ring(guest.avail_addr());
  q.set_used_ring(guest.used_addr());

  q.set_size(6);  // not a power of two
  auto r = q.activate(mem_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("power of two"), std::string::npos);
  q.set_size(0);
  EXPECT_FALSE(q.activate(mem_).ok());
  q.set_size(512);  // above the maximum
  EXPECT_FALSE(q.activate(mem_).ok());

  q.set_size(8);
  ASSERT_TRUE(q.activate(mem_).ok());
  q.set_desc_table(guest.desc_addr() + 8);  // misaligned
  r = q.activate(mem_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("aligned"), std::string::npos);
  EXPECT_FALSE(q.activated());
  q.set_desc_table(guest.desc_addr());
  q.set_used_ring((1 << 20) - 16);  // runs past the end of the region
  r = q.activate(mem_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("used ring"), std::string::npos);
  q.set_used_ring(guest.used_addr());
  q.set_avail_ring(0x700000);
  EXPECT_FALSE(q.activate(mem_).ok());
}

TEST_F(QueueTest, NotReadyOrNotActivatedQueuePopsNothing) {
  SetUpQueue(8);
  guest_->add_chain({{kData, 16, false}});
  queue_->set_ready(false);
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  queue_->reset();
  r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(queue_->size(), 256);
  EXPECT_FALSE(queue_->ready());
}

TEST_F(QueueTest, NotificationWithoutEventIdxFollowsNoInterruptFlag) {
  SetUpQueue(8);
  EXPECT_FALSE(queue_->needs_notification()) << "nothing used yet";
  guest_->add_chain({{kData, 16, true}});
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  ASSERT_TRUE(queue_->add_used(chain_.head, 0).ok());
  EXPECT_TRUE(queue_->needs_notification());
  EXPECT_FALSE(queue_->needs_notification()) << "already decided for this used index";

  guest_->set_avail_flags(1);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  guest_->add_chain({{kData, 16, true}}, 1);
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  ASSERT_TRUE(queue_->add_used(chain_.head, 0).ok());
  EXPECT_FALSE(queue_->needs_notification());
}

TEST_F(QueueTest, EventIdxNotifiesWhenUsedIndexPassesUsedEvent) {
  SetUpQueue(8, /*event_idx=*/true);
  guest_->set_avail_flags(1);  // must be ignored with EVENT_IDX (§2.7.7.2)
  guest_->set_used_event(2);   // "tell me when entry 2 is used"
  auto use_one = [&](uint16_t head) {
    guest_->add_chain({{kData, 16, true}}, head);
    auto r = queue_->pop(&chain_);
    ASSERT_TRUE(r.ok() && *r);
    ASSERT_TRUE(queue_->add_used(chain_.head, 0).ok());
  };
  use_one(0);  // used idx 0 -> 1
  EXPECT_FALSE(queue_->needs_notification());
  use_one(1);  // 1 -> 2
  EXPECT_FALSE(queue_->needs_notification());
  use_one(2);  // 2 -> 3: entry 2 written
  EXPECT_TRUE(queue_->needs_notification());
  use_one(3);
  EXPECT_FALSE(queue_->needs_notification());

  // A batch that jumps over used_event still notifies.
  guest_->set_used_event(5);
  use_one(4);  // 4 -> 5
  use_one(5);  // 5 -> 6
  use_one(6);  // 6 -> 7
  EXPECT_TRUE(queue_->needs_notification());
}

TEST_F(QueueTest, EventIdxAcrossTheWrap) {
  SetUpQueue(4, true);
  VirtQueue::State s = queue_->save_state();
  s.next_avail = s.next_used = 0xffff;
  ASSERT_TRUE(queue_->restore_state(s).ok());
  ASSERT_TRUE(queue_->activate(mem_).ok());
  guest_->set_avail_idx(0xffff);
  guest_->set_used_idx(0xffff);
  guest_->set_used_event(0);  // the entry written as used idx goes 0 -> 1
  for (uint16_t head = 0; head < 2; ++head) {
    guest_->add_chain({{kData, 16, true}}, head);
    ASSERT_TRUE(queue_->pop(&chain_).ok());
    ASSERT_TRUE(queue_->add_used(chain_.head, 0).ok());
  }
  EXPECT_TRUE(queue_->needs_notification());  // used idx went 0xffff -> 1, passing 0
}

TEST_F(QueueTest, EventIdxPublishesAvailEvent) {
  SetUpQueue(8, true);
  auto r = queue_->pop(&chain_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(guest_->avail_event(), 0) << "an empty queue asks for the next entry";
  guest_->add_chain({{kData, 16, false}});
  guest_->add_chain({{kData, 16, false}}, 1);
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  EXPECT_EQ(guest_->avail_event(), 2);
}

TEST_F(QueueTest, StateRoundTrips) {
  SetUpQueue(16, true, true);
  guest_->add_chain({{kData, 16, false}});
  ASSERT_TRUE(queue_->pop(&chain_).ok());
  ASSERT_TRUE(queue_->add_used(chain_.head, 1).ok());
  const VirtQueue::State saved = queue_->save_state();
  EXPECT_EQ(saved.size, 16);
  EXPECT_EQ(saved.ready, 1);
  EXPECT_EQ(saved.event_idx, 1);
  EXPECT_EQ(saved.indirect_desc, 1);
  EXPECT_EQ(saved.next_avail, 1);
  EXPECT_EQ(saved.next_used, 1);
  EXPECT_EQ(saved.desc_table, guest_->desc_addr());

  VirtQueue other(256);
  ASSERT_TRUE(other.restore_state(saved).ok());
  EXPECT_FALSE(other.activated());
  ASSERT_TRUE(other.activate(mem_).ok());
  guest_->add_chain({{kData + 0x100, 32, false}}, 1);
  auto r = other.pop(&chain_);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(chain_.head, 1);

  VirtQueue::State bad = saved;
  bad.ready = 2;
  EXPECT_FALSE(other.restore_state(bad).ok());
  bad = saved;
  bad.size = 512;
  EXPECT_FALSE(other.restore_state(bad).ok());
  EXPECT_TRUE(other.activated()) << "a refused state leaves the queue as it was";
}

}  // namespace
}  // namespace ember
