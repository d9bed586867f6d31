// The synchronous block engine: preadv / pwritev / fdatasync on the calling thread, each
// operation complete before submit() returns.
#pragma once

#include <vector>

#include "devices/virtio/block/block_engine.h"

namespace ember {

class SyncBlockEngine final : public BlockEngine {
 public:
  // `fd` (not owned) must outlive the engine.
  explicit SyncBlockEngine(int fd) : fd_(fd) {}

  [[nodiscard]] Result<void> submit(const BlockIo& io) override;
  void take_completions(std::vector<BlockCompletion>* out) override;
  void switch_file(int fd) override { fd_ = fd; }

 private:
  // Runs one operation to the end; 0 or -errno.
  int32_t run(const BlockIo& io);

  int fd_;
  std::vector<BlockCompletion> done_;
  std::vector<iovec> scratch_;  // the unfinished part of a short transfer
};

}  // namespace ember
