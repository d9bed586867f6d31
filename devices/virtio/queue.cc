#include "devices/virtio/queue.h"

#include <atomic>
#include <bit>
#include <cstring>
#include <string>

#include "base/hex.h"
#include "devices/virtio/virtio_defs.h"
#include "base/check.h"

namespace ember {
namespace {

using virtio::kAvailFlagNoInterrupt;
using virtio::kDescFlagIndirect;
using virtio::kDescFlagNext;
using virtio::kDescFlagWrite;

// Offsets inside the rings (§2.7.6 and §2.7.8).
constexpr uint64_t kRingFlagsOffset = 0;
constexpr uint64_t kRingIdxOffset = 2;
constexpr uint64_t kRingEntriesOffset = 4;
constexpr uint64_t kDescSize = 16;
constexpr uint64_t kAvailEntrySize = 2;
constexpr uint64_t kUsedEntrySize = 8;

// Alignment of each part (§2.7, "Virtqueue Part / Alignment").
constexpr uint64_t kDescAlign = 16;
constexpr uint64_t kAvailAlign = 2;
constexpr uint64_t kUsedAlign = 4;

// §2.7.5.2: "Drivers MUST NOT add a descriptor chain longer than 2^32 bytes in total".
constexpr uint64_t kMaxChainBytes = uint64_t{1} << 32;

// The guest writes these 16-bit fields concurrently; an atomic access on the (checked aligned)
// host view keeps each load and store whole.
uint16_t atomic_load_u16(uint8_t* p) {
  return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(p)).load(std::memory_order_relaxed);
}
void atomic_store_u16(uint8_t* p, uint16_t v) {
  std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(p)).store(v, std::memory_order_relaxed);
}

// Maps one queue part, checking it is aligned and wholly inside one region of guest memory.
Result<std::span<uint8_t>> map_part(const GuestMemory& mem, const char* name, uint64_t addr,
                                    uint64_t align, uint64_t len) {
  if (addr % align != 0)
    return make_error(std::string(name) + " at " + to_hex(addr) + " is not " + std::to_string(align) +
                      "-byte aligned");
  auto view = mem.slice(addr, len);
  if (!view)
    return make_error(std::string(name) + " at " + to_hex(addr) + " (" + std::to_string(len) +
                      " bytes) is outside guest memory");
  return view.value();
}

}  // namespace

VirtQueue::VirtQueue(uint16_t max_size) : max_size_(max_size), size_(max_size) {
  CHECK_MSG(std::has_single_bit(max_size) && max_size <= virtio::kMaxQueueSizeLimit,
            "a virtqueue's maximum size must be a power of two no larger than 32768");
}

void VirtQueue::reset() {
  size_ = max_size_;
  ready_ = false;
  event_idx_ = false;
  indirect_desc_ = false;
  desc_table_ = avail_ring_ = used_ring_ = 0;
  next_avail_ = next_used_ = signalled_used_ = 0;
  mem_ = nullptr;
  desc_view_ = avail_view_ = used_view_ = {};
}

Result<void> VirtQueue::activate(const GuestMemory& mem) {
  mem_ = nullptr;
  if (!std::has_single_bit(size_) || size_ > max_size_)
    return make_error("queue size " + std::to_string(size_) +
                      " is not a power of two between 1 and " + std::to_string(max_size_));
  const uint64_t n = size_;
  ASSIGN_OR_RETURN(auto desc, map_part(mem, "descriptor table", desc_table_, kDescAlign,
                                       kDescSize * n));
  // Both rings include their trailing event field (used_event / avail_event) in §2.7's sizes.
  ASSIGN_OR_RETURN(auto avail, map_part(mem, "available ring", avail_ring_, kAvailAlign,
                                        kRingEntriesOffset + kAvailEntrySize * n + 2));
  ASSIGN_OR_RETURN(auto used, map_part(mem, "used ring", used_ring_, kUsedAlign,
                                       kRingEntriesOffset + kUsedEntrySize * n + 2));
  desc_view_ = desc;
  avail_view_ = avail;
  used_view_ = used;
  mem_ = &mem;
  signalled_used_ = next_used_;
  return {};
}

uint16_t VirtQueue::load_avail_idx() const {
  return atomic_load_u16(avail_view_.data() + kRingIdxOffset);
}

// avail_event sits after the used ring's entries (§2.7.8); with VIRTIO_F_EVENT_IDX it tells the
// driver which available index to notify for (§2.7.10).
void VirtQueue::store_avail_event(uint16_t value) const {
  atomic_store_u16(used_view_.data() + kRingEntriesOffset + kUsedEntrySize * size_, value);
}

Result<bool> VirtQueue::pop(DescriptorChain* out) {
  if (!ready_ || mem_ == nullptr) return false;

  uint16_t avail_idx = load_avail_idx();
  // Acquire: the ring entries and descriptors the driver wrote before bumping idx are
  // visible from here on (§2.7.13.3: the driver's barrier before its idx update pairs with it).
  std::atomic_thread_fence(std::memory_order_acquire);
  if (avail_idx == next_avail_) {
    if (!event_idx_) return false;
    // Ask to be notified for the next entry, then look again: a chain added between the first
    // look and the avail_event store would otherwise wait for a notification that never comes.
    store_avail_event(next_avail_);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    avail_idx = load_avail_idx();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (avail_idx == next_avail_) return false;
  }

  // The 16-bit indices wrap; the driver can never be more than a ring's worth ahead (§2.7.13).
  const uint16_t pending = static_cast<uint16_t>(avail_idx - next_avail_);
  if (pending > size_)
    return make_error("available index moved from " + std::to_string(next_avail_) + " to " +
                      std::to_string(avail_idx) + ", more than the queue size " +
                      std::to_string(size_) + " ahead");

  const uint64_t slot = next_avail_ % size_;
  uint16_t head;
  std::memcpy(&head, avail_view_.data() + kRingEntriesOffset + kAvailEntrySize * slot,
              sizeof head);
  if (head >= size_)
    return make_error("available ring entry " + std::to_string(next_avail_) + " names descriptor " +
                      std::to_string(head) + ", outside a queue of size " + std::to_string(size_));
  TRY(walk_chain(head, out));

  ++next_avail_;
  if (event_idx_) store_avail_event(next_avail_);
  return true;
}

Result<void> VirtQueue::walk_chain(uint16_t head, DescriptorChain* out) const {
  out->head = head;
  out->buffers.clear();
  uint64_t total = 0;
  uint16_t index = head;
  // A chain can be no longer than the queue size (§2.7.5.3.1), so a chain that is still going
  // after `size_` descriptors has a loop.
  for (uint32_t budget = size_;; --budget) {
    if (budget == 0)
      return make_error("descriptor chain from head " + std::to_string(head) +
                        " is longer than the queue size " + std::to_string(size_) +
                        " (a loop in the chain?)");
    Descriptor d;
    std::memcpy(&d, desc_view_.data() + kDescSize * index, sizeof d);
    if (d.flags & kDescFlagIndirect) {
      if (!indirect_desc_)
        return make_error("descriptor " + std::to_string(index) +
                          " is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated");
      // §2.7.5.3.1: INDIRECT and NEXT together are forbidden; an indirect table ends the
      // chain (zero or more direct descriptors, then one indirect one, §2.7.5.3.2).
      if (d.flags & kDescFlagNext)
        return make_error("descriptor " + std::to_string(index) + " has both INDIRECT and NEXT");
      return walk_indirect(d, out, &total);
    }
    TRY(add_buffer(d, out, &total));
    if (!(d.flags & kDescFlagNext)) return {};
    if (d.next >= size_)
      return make_error("descriptor " + std::to_string(index) + " chains to " +
                        std::to_string(d.next) + ", outside a queue of size " +
                        std::to_string(size_));
    index = d.next;
  }
}

Result<void> VirtQueue::walk_indirect(const Descriptor& table, DescriptorChain* out,
                                      uint64_t* total) const {
  // §2.7.5.3: the table holds len / 16 descriptors. An empty or ragged table, or one longer
  // than the queue size (the chain-length limit of §2.7.5.3.1), is the driver's error.
  if (table.len == 0 || table.len % kDescSize != 0)
    return make_error("indirect table length " + std::to_string(table.len) +
                      " is not a non-zero multiple of 16");
  const uint32_t count = table.len / kDescSize;
  if (count > size_)
    return make_error("indirect table of " + std::to_string(count) +
                      " descriptors is larger than the queue size " + std::to_string(size_));
  auto view = mem_->slice(table.addr, table.len);
  if (!view)
    return make_error("indirect table at " + to_hex(table.addr) + " (" + std::to_string(table.len) +
                      " bytes) is outside guest memory");
  // The device ignores the WRITE flag of the descriptor naming the table (§2.7.5.3.2).
  uint32_t index = 0;
  for (uint32_t budget = count;; --budget) {
    if (budget == 0)
      return make_error("indirect descriptor chain is longer than its table of " +
                        std::to_string(count) + " (a loop in the chain?)");
    Descriptor d;
    std::memcpy(&d, view->data() + kDescSize * index, sizeof d);
    if (d.flags & kDescFlagIndirect)
      return make_error("indirect descriptor " + std::to_string(index) +
                        " points to another indirect table (nesting is forbidden)");
    TRY(add_buffer(d, out, total));
    if (!(d.flags & kDescFlagNext)) return {};
    if (d.next >= count)
      return make_error("indirect descriptor " + std::to_string(index) + " chains to " +
                        std::to_string(d.next) + ", outside its table of " +
                        std::to_string(count));
    index = d.next;
  }
}

Result<void> VirtQueue::add_buffer(const Descriptor& d, DescriptorChain* out,
                                   uint64_t* total) const {
  if (d.len == 0) return {};
  if (!mem_->is_valid_range(d.addr, d.len))
    return make_error("descriptor buffer at " + to_hex(d.addr) + " (" + std::to_string(d.len) +
                      " bytes) is outside guest memory");
  *total += d.len;  // at most size_ * 2^32 in all: no overflow in 64 bits
  if (*total > kMaxChainBytes)
    return make_error("descriptor chain is longer than 2^32 bytes in total");
  out->buffers.push_back({d.addr, d.len, (d.flags & kDescFlagWrite) != 0});
  return {};
}

Result<void> VirtQueue::add_used(uint16_t head, uint32_t len) {
  if (mem_ == nullptr) return make_error("add_used on a queue that is not activated");
  if (head >= size_)
    return make_error("used descriptor " + std::to_string(head) + " is outside a queue of size " +
                      std::to_string(size_));
  const uint64_t slot = next_used_ % size_;
  const uint32_t elem[2] = {head, len};  // struct virtq_used_elem {le32 id; le32 len;}
  std::memcpy(used_view_.data() + kRingEntriesOffset + kUsedEntrySize * slot, elem, sizeof elem);
  ++next_used_;
  // Release: the element (and the data written into the buffers) is visible before the driver
  // can see the new index (§2.7.8.2: len is set prior to updating the used idx).
  std::atomic_thread_fence(std::memory_order_release);
  atomic_store_u16(used_view_.data() + kRingIdxOffset, next_used_);
  return {};
}

bool VirtQueue::needs_notification() {
  if (mem_ == nullptr) return false;
  // The used index store must be ordered before reading the driver's suppression fields, or
  // both sides could decide the other one will act (store-load ordering needs a full fence).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_idx = signalled_used_;
  const uint16_t new_idx = next_used_;
  signalled_used_ = new_idx;
  if (old_idx == new_idx) return false;
  if (!event_idx_) {
    const uint16_t flags = atomic_load_u16(avail_view_.data() + kRingFlagsOffset);
    return (flags & kAvailFlagNoInterrupt) == 0;
  }
  // §2.7.7.2: notify when the used index passed used_event during this batch, i.e. when
  // used_event is in [old_idx, new_idx) modulo 2^16.
  const uint16_t used_event =
      atomic_load_u16(avail_view_.data() + kRingEntriesOffset + kAvailEntrySize * size_);
  return static_cast<uint16_t>(new_idx - used_event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

VirtQueue::State VirtQueue::save_state() const {
  State s{};
  s.size = size_;
  s.ready = ready_ ? 1 : 0;
  s.event_idx = event_idx_ ? 1 : 0;
  s.indirect_desc = indirect_desc_ ? 1 : 0;
  s.desc_table = desc_table_;
  s.avail_ring = avail_ring_;
  s.used_ring = used_ring_;
  s.next_avail = next_avail_;
  s.next_used = next_used_;
  return s;
}

Result<void> VirtQueue::restore_state(const State& s) {
  if (s.ready > 1 || s.event_idx > 1 || s.indirect_desc > 1)
    return make_error("virtqueue state has a flag that is neither 0 nor 1");
  if (s.size > max_size_)
    return make_error("virtqueue state size " + std::to_string(s.size) + " exceeds the maximum " +
                      std::to_string(max_size_));
  reset();
  size_ = s.size;
  ready_ = s.ready != 0;
  event_idx_ = s.event_idx != 0;
  indirect_desc_ = s.indirect_desc != 0;
  desc_table_ = s.desc_table;
  avail_ring_ = s.avail_ring;
  used_ring_ = s.used_ring;
  next_avail_ = s.next_avail;
  next_used_ = s.next_used;
  signalled_used_ = s.next_used;
  return {};
}

}  // namespace ember
