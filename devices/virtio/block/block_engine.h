// How virtio-block requests reach the backing file. An engine takes operations on guest
// buffers and reports their completions later; the synchronous engine finishes each one inside
// submit(), the io_uring engine finishes them when the kernel does and makes
// completion_fd() readable, and the VMM then calls the device's process_event().
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace ember {

enum class BlockOp : uint8_t { kRead, kWrite, kFlush };

struct BlockIo {
  BlockOp op = BlockOp::kRead;
  uint64_t offset = 0;          // bytes from the start of the disk; unused by kFlush
  std::span<const iovec> iov;   // host views of guest buffers; must stay valid until completion
  uint64_t user_data = 0;       // handed back in the completion
};

struct BlockCompletion {
  uint64_t user_data = 0;
  int32_t result = 0;  // 0 when the whole operation succeeded, otherwise -errno
};

class BlockEngine {
 public:
  virtual ~BlockEngine() = default;
  // Starts an operation. An error means it was not started (no completion will come).
  [[nodiscard]] virtual Result<void> submit(const BlockIo& io) = 0;
  // Appends every finished operation to `out`.
  virtual void take_completions(std::vector<BlockCompletion>* out) = 0;
  // Readable when completions are waiting; -1 for an engine that completes inside submit().
  // The same fd for the engine's whole life (a backing file swap does not change it).
  [[nodiscard]] virtual int completion_fd() const { return -1; }
  // Blocks until no operation is running any more; their completions stay for
  // take_completions(). Needed before guest memory may be reused (reset) and before the
  // backing file changes.
  virtual void drain() {}
  // Later operations go to `fd` (not owned; must outlive the engine or the next switch).
  // Only with nothing in flight (after drain()).
  virtual void switch_file(int fd) = 0;
};

}  // namespace ember
