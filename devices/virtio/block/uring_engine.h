// The asynchronous block engine on io_uring (liburing): operations are queued as
// IORING_OP_READV / WRITEV / FSYNC(DATASYNC) and the kernel runs them while the VMM thread goes
// on. The ring signals completions on an eventfd registered with io_uring_register_eventfd:
// that eventfd is completion_fd(), watched by the VMM, which then makes the device call
// take_completions().
//
// A transfer that comes back short (the file shrank underneath us, the disk is full) completes
// with -EIO rather than being resubmitted: the range was checked against the disk size, so a
// short transfer on a raw image means the image is not what it was.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "devices/virtio/block/block_engine.h"
#include "base/result.h"
#include "base/unique_fd.h"

struct io_uring;  // liburing's ring, kept out of this header

namespace ember {

class UringBlockEngine final : public BlockEngine {
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };

 public:
  // Most iovecs one READV/WRITEV takes (the kernel's UIO_MAXIOV).
  static constexpr size_t kMaxSegments = 1024;

  // A ring with room for `depth` operations at once (a power of two, at most 32768: the
  // device's queue size) working on `fd` (not owned, must outlive the engine). Fails with a
  // message saying so when the kernel has no io_uring (too old, or disabled by policy).
  [[nodiscard]] static Result<std::unique_ptr<UringBlockEngine>> create(int fd, uint32_t depth);
  UringBlockEngine(ConstructionKey, int fd, std::unique_ptr<io_uring> ring, UniqueFd event);
  // Waits for the operations still running: they write into guest memory.
  ~UringBlockEngine() override;
  UringBlockEngine(const UringBlockEngine&) = delete;
  UringBlockEngine& operator=(const UringBlockEngine&) = delete;

  [[nodiscard]] Result<void> submit(const BlockIo& io) override;
  void take_completions(std::vector<BlockCompletion>* out) override;
  [[nodiscard]] int completion_fd() const override { return event_.get(); }
  void drain() override;
  void switch_file(int fd) override { fd_ = fd; }

  [[nodiscard]] uint32_t in_flight() const { return in_flight_; }

 private:
  struct Pending {
    uint64_t user_data = 0;
    uint64_t expected = 0;  // bytes a complete transfer moves; 0 for a flush
  };
  // Turns one CQE into a completion (and frees its slot).
  void reap(uint64_t cqe_user_data, int32_t res);

  int fd_;
  std::unique_ptr<io_uring> ring_;
  UniqueFd event_;
  // What each running operation is; the CQE carries the slot index.
  std::vector<Pending> slots_;
  std::vector<uint32_t> free_slots_;
  uint32_t in_flight_ = 0;
  std::vector<BlockCompletion> done_;
};

}  // namespace ember
