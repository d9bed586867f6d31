#include "devices/virtio/block/sync_engine.h"

#include <climits>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ember {

Result<void> SyncBlockEngine::submit(const BlockIo& io) {
  done_.push_back({io.user_data, run(io)});
  return {};
}

void SyncBlockEngine::take_completions(std::vector<BlockCompletion>* out) {
  out->insert(out->end(), done_.begin(), done_.end());
  done_.clear();
}

int32_t SyncBlockEngine::run(const BlockIo& io) {
  if (io.op == BlockOp::kFlush) {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return -errno;
    }
    return 0;
  }
  scratch_.assign(io.iov.begin(), io.iov.end());
  size_t first = 0;  // scratch_[first..] is still to transfer
  auto offset = static_cast<off_t>(io.offset);
  while (first < scratch_.size()) {
    const int count = static_cast<int>(std::min<size_t>(scratch_.size() - first, IOV_MAX));
    const ssize_t n = io.op == BlockOp::kRead ? ::preadv(fd_, &scratch_[first], count, offset)
                                              : ::pwritev(fd_, &scratch_[first], count, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    // The range was checked against the disk size, so running into its end means the file
    // shrank underneath us.
    if (n == 0) return -EIO;
    offset += n;
    auto left = static_cast<size_t>(n);
    while (first < scratch_.size() && left >= scratch_[first].iov_len) {
      left -= scratch_[first].iov_len;
      ++first;
    }
    if (left > 0) {
      scratch_[first].iov_base = static_cast<char*>(scratch_[first].iov_base) + left;
      scratch_[first].iov_len -= left;
    }
  }
  return 0;
}

}  // namespace ember
