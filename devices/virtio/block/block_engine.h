// How virtio-block requests reach the backing file. An engine takes operations on guest
// buffers and reports their completions later; the synchronous engine finishes each one inside
// submit(), an io_uring engine (a later step) will finish them when the kernel does and make
// completion_fd() readable, and the VMM then calls the device's process_event().
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/util/result.h"

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
  [[nodiscard]] virtual int completion_fd() const { return -1; }
};

}  // namespace ember
