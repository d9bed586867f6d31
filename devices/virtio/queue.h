// A split virtqueue (virtio 1.2 §2.7) seen from the device side: the transport configures it
// through its registers, a device pops descriptor chains from the available ring and returns
// them through the used ring.
//
// Guest memory layout of the three parts (§2.7, table of alignments and sizes):
//   descriptor table  align 16, 16 * size bytes: {le64 addr; le32 len; le16 flags; le16 next}
//   available ring    align 2,  6 + 2 * size:    {le16 flags; le16 idx; le16 ring[size];
//                                                 le16 used_event}
//   used ring         align 4,  6 + 8 * size:    {le16 flags; le16 idx;
//                                                 {le32 id; le32 len} ring[size]; le16 avail_event}
//
// Everything the guest wrote is untrusted: every descriptor is copied once and checked, chains
// are bounded (a loop ends as an error, never as a hang), and any broken structure comes back
// as an error after which the device needs a reset (§2.1.2, DEVICE_NEEDS_RESET).
//
// Not thread-safe: the transport serialises all calls under its lock. The guest driver runs
// concurrently, which the memory fences below account for.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember {

// One guest buffer of a descriptor chain, already checked to lie inside guest memory.
struct DescriptorBuffer {
  GuestAddress addr = 0;
  uint32_t len = 0;
  bool device_writable = false;  // VIRTQ_DESC_F_WRITE: the device writes, the driver reads
};

// A popped request: the head index to hand back through the used ring and its buffers in
// chain order. Zero-length descriptors are dropped (they carry no bytes). The buffers vector
// is reused from pop to pop so the hot path does not allocate.
struct DescriptorChain {
  uint16_t head = 0;
  std::vector<DescriptorBuffer> buffers;
};

class VirtQueue {
 public:
  static constexpr uint16_t kDefaultMaxSize = 256;

  // What a snapshot keeps of a queue. Trivially copyable with no padding (written to files as
  // it lies in memory); flags are bytes holding 0 or 1.
  struct State {
    uint16_t size;
    uint8_t ready;
    uint8_t event_idx;      // VIRTIO_F_EVENT_IDX negotiated
    uint8_t indirect_desc;  // VIRTIO_F_INDIRECT_DESC negotiated
    uint8_t reserved[3];
    uint64_t desc_table;
    uint64_t avail_ring;
    uint64_t used_ring;
    uint16_t next_avail;
    uint16_t next_used;
    uint8_t reserved2[4];
  };

  // `max_size` is what QueueNumMax reports: a power of two no larger than 32768.
  explicit VirtQueue(uint16_t max_size = kDefaultMaxSize);

  // Register-level configuration, written by the transport while the queue is not ready.
  [[nodiscard]] uint16_t max_size() const { return max_size_; }
  [[nodiscard]] uint16_t size() const { return size_; }
  void set_size(uint16_t size) { size_ = size; }
  [[nodiscard]] bool ready() const { return ready_; }
  void set_ready(bool ready) { ready_ = ready; }
  [[nodiscard]] uint64_t desc_table() const { return desc_table_; }
  void set_desc_table(uint64_t addr) { desc_table_ = addr; }
  [[nodiscard]] uint64_t avail_ring() const { return avail_ring_; }
  void set_avail_ring(uint64_t addr) { avail_ring_ = addr; }
  [[nodiscard]] uint64_t used_ring() const { return used_ring_; }
  void set_used_ring(uint64_t addr) { used_ring_ = addr; }
  // The negotiated features that change how the rings are read (§2.7.5.3, §2.7.7, §2.7.10).
  void set_negotiated(bool event_idx, bool indirect_desc) {
    event_idx_ = event_idx;
    indirect_desc_ = indirect_desc;
  }
  [[nodiscard]] bool event_idx() const { return event_idx_; }
  [[nodiscard]] uint16_t next_avail() const { return next_avail_; }
  [[nodiscard]] uint16_t next_used() const { return next_used_; }

  // Checks the configuration of a ready queue (size a power of two within max_size, each part
  // aligned and inside one guest memory region) and remembers where the rings are. `mem` must
  // outlive the activation (until reset() or the next activate()).
  [[nodiscard]] Result<void> activate(const GuestMemory& mem);
  [[nodiscard]] bool activated() const { return mem_ != nullptr; }

  // Back to the power-on state: size = max_size, addresses 0, not ready, indices 0.
  void reset();

  // Takes the next available descriptor chain into `out`. Returns false when there is none,
  // or when the queue is not ready or not activated. An error means the driver broke the
  // queue (bad index, loop, buffer outside memory, ...): the device must stop using it.
  [[nodiscard]] Result<bool> pop(DescriptorChain* out);
  // Gives back the chain the last pop() returned, not used yet: the next pop() returns it
  // again. For a device that must not hold a chain across a snapshot.
  void undo_pop() { --next_avail_; }

  // Returns a chain to the driver: `len` is how many bytes the device wrote into its
  // device-writable buffers (§2.7.8). Publishes the new used index.
  [[nodiscard]] Result<void> add_used(uint16_t head, uint32_t len);

  // After a batch of add_used(): whether the driver wants a used-buffer notification now,
  // honouring VIRTQ_AVAIL_F_NO_INTERRUPT or, with VIRTIO_F_EVENT_IDX, used_event (§2.7.7).
  // Remembers the used index it decided for, so call it once per batch.
  [[nodiscard]] bool needs_notification();

  [[nodiscard]] State save_state() const;
  // Takes a saved state; the queue is left not activated (activate() again with memory).
  // Fails, leaving the queue unchanged, for a state this queue cannot hold.
  [[nodiscard]] Result<void> restore_state(const State& state);

 private:
  struct Descriptor {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
  };
  static_assert(sizeof(Descriptor) == 16);

  [[nodiscard]] uint16_t load_avail_idx() const;
  void store_avail_event(uint16_t value) const;
  [[nodiscard]] Result<void> walk_chain(uint16_t head, DescriptorChain* out) const;
  [[nodiscard]] Result<void> walk_indirect(const Descriptor& table, DescriptorChain* out,
                                           uint64_t* total) const;
  [[nodiscard]] Result<void> add_buffer(const Descriptor& d, DescriptorChain* out,
                                        uint64_t* total) const;

  const uint16_t max_size_;
  uint16_t size_;
  bool ready_ = false;
  bool event_idx_ = false;
  bool indirect_desc_ = false;
  uint64_t desc_table_ = 0;
  uint64_t avail_ring_ = 0;
  uint64_t used_ring_ = 0;
  uint16_t next_avail_ = 0;
  uint16_t next_used_ = 0;
  // Used index at the last needs_notification() decision (the "old" index of §2.7.7's rule).
  uint16_t signalled_used_ = 0;

  // Set by activate(): the memory and host views of the three parts.
  const GuestMemory* mem_ = nullptr;
  std::span<uint8_t> desc_view_;
  std::span<uint8_t> avail_view_;
  std::span<uint8_t> used_view_;
};

}  // namespace ember
