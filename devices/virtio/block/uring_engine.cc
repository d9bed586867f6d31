#include "devices/virtio/block/uring_engine.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/errno_error.h"
#include "base/log.h"

namespace ember {

Result<std::unique_ptr<UringBlockEngine>> UringBlockEngine::create(int fd, uint32_t depth) {
  if (depth == 0 || (depth & (depth - 1)) != 0 || depth > 32768)
    return make_error("io_uring depth " + std::to_string(depth) +
                      " is not a power of two between 1 and 32768");
  auto ring = std::make_unique<io_uring>();
  // liburing returns -errno rather than setting errno.
  const int err = io_uring_queue_init(depth, ring.get(), 0);
  if (err < 0)
    return make_error(std::string("cannot create an io_uring for the Async block engine (") +
                      std::strerror(-err) +
                      "): the host kernel lacks io_uring or forbids it; use the Sync engine");
  UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event.valid()) {
    io_uring_queue_exit(ring.get());
    return errno_error("cannot create the io_uring completion eventfd");
  }
  const int reg = io_uring_register_eventfd(ring.get(), event.get());
  if (reg < 0) {
    io_uring_queue_exit(ring.get());
    return make_error(std::string("cannot register the io_uring completion eventfd: ") +
                      std::strerror(-reg));
  }
  auto engine = std::make_unique<UringBlockEngine>(ConstructionKey(), fd, std::move(ring),
                                                   std::move(event));
  engine->slots_.resize(depth);
  engine->free_slots_.reserve(depth);
  for (uint32_t i = depth; i > 0; --i) engine->free_slots_.push_back(i - 1);
  return engine;
}

UringBlockEngine::UringBlockEngine(ConstructionKey, int fd, std::unique_ptr<io_uring> ring,
                                   UniqueFd event)
    : fd_(fd), ring_(std::move(ring)), event_(std::move(event)) {}

UringBlockEngine::~UringBlockEngine() {
  drain();
  io_uring_queue_exit(ring_.get());
}

Result<void> UringBlockEngine::submit(const BlockIo& io) {
  if (free_slots_.empty())
    return make_error("io_uring has " + std::to_string(slots_.size()) +
                      " operations running already");
  if (io.op != BlockOp::kFlush && io.iov.size() > kMaxSegments)
    return make_error("request has " + std::to_string(io.iov.size()) +
                      " segments, more than io_uring takes in one operation (1024)");
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) {
    // Every SQE is taken but not yet consumed by the kernel: push them and try again.
    const int n = io_uring_submit(ring_.get());
    if (n < 0) return make_error(std::string("io_uring submit failed: ") + std::strerror(-n));
    sqe = io_uring_get_sqe(ring_.get());
    if (sqe == nullptr) return make_error("io_uring submission queue is full");
  }
  uint64_t expected = 0;
  for (const iovec& v : io.iov) expected += v.iov_len;
  const auto count = static_cast<unsigned>(io.iov.size());
  switch (io.op) {
    case BlockOp::kRead: io_uring_prep_readv(sqe, fd_, io.iov.data(), count, io.offset); break;
    case BlockOp::kWrite: io_uring_prep_writev(sqe, fd_, io.iov.data(), count, io.offset); break;
    case BlockOp::kFlush:
      io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
      expected = 0;
      break;
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  io_uring_sqe_set_data64(sqe, slot);
  slots_[slot] = {io.user_data, expected};
  ++in_flight_;
  // The SQE is in the ring now whatever the syscall says: a failed io_uring_enter (EAGAIN,
  // EBUSY under memory pressure) leaves it there for the next submit or drain(), so it counts
  // as running either way.
  const int n = io_uring_submit(ring_.get());
  if (n < 0) log_warn(std::string("io_uring submit deferred: ") + std::strerror(-n));
  return {};
}

void UringBlockEngine::reap(uint64_t cqe_user_data, int32_t res) {
  CHECK_MSG(cqe_user_data < slots_.size() && in_flight_ > 0,
            "io_uring completed an operation it was not given");
  const Pending p = slots_[cqe_user_data];
  free_slots_.push_back(static_cast<uint32_t>(cqe_user_data));
  --in_flight_;
  int32_t result = 0;
  if (res < 0) {
    result = res;
  } else if (static_cast<uint64_t>(res) != p.expected) {
    result = -EIO;  // a short transfer: see the header
  }
  done_.push_back({p.user_data, result});
}

void UringBlockEngine::take_completions(std::vector<BlockCompletion>* out) {
  // Clear the eventfd first: a CQE posted after this read signals it again, so none is missed.
  uint64_t count = 0;
  while (::read(event_.get(), &count, sizeof count) < 0 && errno == EINTR) {
  }
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) {
    reap(io_uring_cqe_get_data64(cqe), cqe->res);
    io_uring_cqe_seen(ring_.get(), cqe);
  }
  out->insert(out->end(), done_.begin(), done_.end());
  done_.clear();
}

void UringBlockEngine::drain() {
  while (in_flight_ > 0) {
    io_uring_cqe* cqe = nullptr;
    // Submits whatever a failed submit left in the ring, then waits for one completion.
    (void)io_uring_submit(ring_.get());
    const int err = io_uring_wait_cqe(ring_.get(), &cqe);
    if (err == -EINTR) continue;
    // Anything else means the ring itself is broken; the operations' buffers can no longer
    // be accounted for, and going on could let the kernel write into reused memory.
    if (err != 0) log_error(std::string("waiting for io_uring completions failed: ") +
                            std::strerror(-err));
    CHECK_MSG(err == 0, "io_uring broke with operations still running");
    reap(io_uring_cqe_get_data64(cqe), cqe->res);
    io_uring_cqe_seen(ring_.get(), cqe);
  }
}

}  // namespace ember
