// virtio-block (virtio 1.2 §5.2): one request queue in front of a raw disk image.
//
// Offered features: VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC,
// VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, and VIRTIO_BLK_F_RO for a read-only drive.
// Requests: IN, OUT, FLUSH, GET_ID; any other type is answered UNSUPP. A malformed request is
// answered IOERR and logged (the first few); only a broken queue stops the device.
//
// I/O goes through a BlockEngine. With the synchronous engine a request completes inside
// process_queue(); the io_uring engine's completions arrive through process_event
// (kCompletionEvent) when its completion_fd() is readable (the VMM watches that fd).
//
// Rate limiting: every request that passes parsing costs one ops token and, for IN/OUT, its
// data bytes in bandwidth tokens. A request the limiter refuses is kept (popped, parsed, not
// started) and retried first when the limiter's timer fires (kRateLimiterEvent, watched by the
// device through the EventRegistrar) or the queue is notified; later requests wait behind it.
// A kept request is not part of a snapshot (the queue state already counts it as taken): take
// snapshots of a rate-limited drive only while it is idle.
//
// Threads: the transport serialises its calls under its lock. update_backing_file() comes from
// the VMM's API handling instead, which cannot take the transport's lock (the transport has no
// entry point for that), so the device has a mutex of its own, taken by every method that
// touches the disk, the engine, the config space or the queue. Lock order: transport, then
// device; the device never calls into the transport except through VirtioInterrupt, which
// takes no lock. update_rate_limiter() needs no device lock: the limiter locks itself.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/rate_limiter/clock.h"
#include "devices/rate_limiter/rate_limiter.h"
#include "devices/virtio/block/block_counters.h"
#include "devices/virtio/block/block_engine.h"
#include "devices/virtio/block/block_request.h"
#include "devices/virtio/block/raw_file.h"
#include "devices/virtio/device_base.h"
#include "devices/virtio/queue.h"

namespace ember {

// Firecracker's io_engine: Sync (preadv/pwritev on the VMM thread) or Async (io_uring).
enum class BlockEngineKind : uint8_t { kSync, kAsync };

struct VirtioBlockConfig {
  std::string path;
  bool read_only = false;
  // What GET_ID answers: at most 20 bytes (§5.2.6), NUL-padded.
  std::string id;
  uint16_t queue_size = VirtQueue::kDefaultMaxSize;  // a power of two, 2 to 32768
  BlockEngineKind engine = BlockEngineKind::kSync;
  // No bucket (the default): unlimited. A real limit needs an EventRegistrar (see create()).
  RateLimiterLimits rate_limiter;
};

class VirtioBlock final : public VirtioDeviceBase<VirtioBlockCounters> {
 public:
  // process_event() id: the engine has completions.
  static constexpr uint32_t kCompletionEvent = 0;
  // process_event() id: the rate limiter's timer fired (its timer_fd, EPOLLIN).
  static constexpr uint32_t kRateLimiterEvent = 1;
  // Feature bits of §5.2.3.
  static constexpr unsigned kFeatureSegMax = 2;  // VIRTIO_BLK_F_SEG_MAX
  static constexpr unsigned kFeatureRo = 5;      // VIRTIO_BLK_F_RO
  static constexpr unsigned kFeatureFlush = 9;   // VIRTIO_BLK_F_FLUSH

  // Opens the image and serves it with the configured engine (Async fails, saying so, on a
  // kernel without io_uring). With `events` (which must outlive the device) the device gets a
  // rate limiter, unlimited unless the config says otherwise, whose timer it watches as
  // kRateLimiterEvent, so update_rate_limiter() can limit it later. Without `events` no timer
  // can be watched: a config with a real limit is refused, and the drive has no limiter.
  // `clock` (tests: a fake) must outlive the device.
  [[nodiscard]] static Result<std::unique_ptr<VirtioBlock>> create(
      const VirtioBlockConfig& config, EventRegistrar* events = nullptr,
      const MonotonicClock& clock = system_monotonic_clock());
  // With a chosen engine working on `disk.fd()`. `id` and `queue_size` as in the config, already
  // checked (see check_config()). `limiter` may be null; when it is not, the caller watches its
  // timer (create() does).
  VirtioBlock(RawDiskFile disk, std::unique_ptr<BlockEngine> engine, const std::string& id,
              uint16_t queue_size, std::unique_ptr<RateLimiter> limiter = nullptr);
  ~VirtioBlock() override;

  // The config's own rules (id length, queue size), without touching the file.
  [[nodiscard]] static Result<void> check_config(const VirtioBlockConfig& config);

  // VirtioDevice (process_queue() and process_event(): VirtioDeviceBase).
  [[nodiscard]] uint32_t device_type() const override;
  [[nodiscard]] std::span<const uint16_t> queue_max_sizes() const override { return queue_sizes_; }
  [[nodiscard]] uint64_t device_features() const override { return features_; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  [[nodiscard]] Result<void> activate(const GuestMemory& mem, uint64_t acked_features,
                                      std::span<VirtQueue> queues,
                                      VirtioInterrupt& interrupt) override;
  void reset() override;
  // Waits for the requests the engine runs and returns them to the driver; a request held by
  // the rate limiter goes back on the queue.
  void quiesce() override;
  [[nodiscard]] std::vector<uint8_t> save_device_state() const override;
  [[nodiscard]] Result<void> restore_device_state(std::span<const uint8_t> bytes) override;

  [[nodiscard]] uint64_t capacity_sectors() const;
  [[nodiscard]] bool read_only() const { return read_only_; }
  [[nodiscard]] std::string path() const;
  // For the VMM's epoll set (see BlockEngine::completion_fd()); the same fd for the device's
  // whole life, backing file swaps included.
  [[nodiscard]] int completion_fd() const { return engine_->completion_fd(); }

  // API PATCH of the drive's rate limiter, from any thread. Fails when the drive has no
  // limiter (created without an EventRegistrar). A request held at the time is retried under
  // the new limits on the next timer event, which the limiter raises at once.
  [[nodiscard]] Result<void> update_rate_limiter(const RateLimiterUpdate& update);
  // The limiter's current limits; nullopt without a limiter.
  [[nodiscard]] std::optional<RateLimiterLimits> rate_limits() const;

  // API PATCH of path_on_host: serves `path` (opened with the drive's read-only setting) from
  // now on. Waits for the requests running on the old file and returns them to the driver
  // first; a request held by the rate limiter is checked again against the new size. Updates
  // the capacity in the config space and, while active, raises a configuration change
  // interrupt (§5.2.2: the driver re-reads the capacity). On error the old file stays.
  // Any thread (normally the VMM thread); takes the device lock.
  [[nodiscard]] Result<void> update_backing_file(const std::string& path);

 private:
  // A request handed to the engine, indexed by its chain's head (unique while in flight).
  struct InFlight {
    bool busy = false;
    uint32_t type = 0;
    GuestAddress status_addr = 0;
    uint64_t data_len = 0;
    std::vector<iovec> iov;
  };
  // VirtioDeviceBase.
  [[nodiscard]] Result<void> serve_queue(uint16_t index) override;
  [[nodiscard]] Result<void> serve_event(uint32_t event_id) override;
  [[nodiscard]] std::string problem_source() const override;

  // The request queue; only while active.
  [[nodiscard]] VirtQueue& queue() const { return activation_.queue(0); }

  [[nodiscard]] Result<void> process_requests(bool* used);
  // Whether the rate limiter lets request_ run now (takes its tokens if so).
  [[nodiscard]] bool admit();
  [[nodiscard]] Result<void> handle_request(bool* used);
  [[nodiscard]] Result<void> submit(BlockOp op, bool* used);
  [[nodiscard]] Result<void> complete_finished(bool* used);
  // Writes the status (when there is a place for it) and returns the chain to the driver.
  [[nodiscard]] Result<void> finish(uint16_t head, bool has_status, GuestAddress status_addr,
                                    uint8_t status, uint64_t written);
  void count_status(uint32_t type, uint8_t status, uint64_t data_len);

  // See "Threads" above. Guards everything below that can change after construction, except
  // the limiter (locks itself), and the activation (activate() and reset() change it under
  // this lock too). The counters are atomics.
  mutable std::mutex lock_;

  RawDiskFile disk_;  // before engine_: the engine uses its fd
  std::unique_ptr<BlockEngine> engine_;
  const std::unique_ptr<RateLimiter> limiter_;  // null: no rate limiting possible
  EventRegistrar* events_ = nullptr;            // set by create() once it watches the timer
  const bool read_only_;
  BlockDiskInfo disk_info_;
  std::array<uint8_t, virtio_blk::kIdBytes> id_{};
  std::array<uint16_t, 1> queue_sizes_;
  uint64_t features_;
  std::vector<uint8_t> config_space_;

  // Used while active.
  std::vector<InFlight> in_flight_;
  // chain_ / request_ hold a parsed request the rate limiter refused; it goes first.
  bool held_ = false;

  // Reused between requests so the request path does not allocate.
  DescriptorChain chain_;
  BlockRequest request_;
  std::vector<BlockCompletion> completions_;
};

}  // namespace ember
