// An I/O rate limiter with Firecracker's semantics (API definitions RateLimiter and TokenBucket):
// two independent, optional token buckets, one counting bytes ("bandwidth") and one counting
// operations ("ops"). A device asks before each operation; when a bucket is short the limiter
// blocks, arms a timerfd for the moment the request would fit, and refuses everything until
// the device has handled that timer (FIFO fairness: a small request cannot overtake a blocked
// big one).
//
// How a device uses it:
//   - watch timer_fd() for EPOLLIN (EventRegistrar) at construction;
//   - before an operation: consume_operation(bytes) (or consume() per kind); on false, keep the
//     request and stop;
//   - on the timer event: on_timer_event(), then retry the kept request;
//   - on device reset: cancel_timer().
//
// Threads: every method locks the limiter, so update() (an API PATCH on the VMM thread) may
// run while a device uses the limiter under its transport's lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "devices/rate_limiter/clock.h"
#include "devices/rate_limiter/token_bucket.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

enum class TokenKind : uint8_t { kBytes, kOps };

// The API's RateLimiter: a missing bucket, or one that limits nothing (size 0 or refill time 0),
// means no limit of that kind.
struct RateLimiterLimits {
  std::optional<TokenBucketLimits> bandwidth = std::nullopt;
  std::optional<TokenBucketLimits> ops = std::nullopt;
};

// A PATCH of a running limiter: a missing bucket is left as it is; a given one replaces the
// bucket with a fresh, full one (size 0 or refill time 0 removes the limit).
struct RateLimiterUpdate {
  std::optional<TokenBucketLimits> bandwidth = std::nullopt;
  std::optional<TokenBucketLimits> ops = std::nullopt;
};

class RateLimiter {
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };

 public:
  // What a snapshot keeps: the buckets' limits and contents. Not whether the limiter was
  // blocked: the device retries its queues when it is activated again and blocks anew if it
  // must. Trivially copyable, no padding.
  struct State {
    uint8_t has_bandwidth;  // 0 or 1
    uint8_t has_ops;        // 0 or 1
    uint8_t reserved[6];
    TokenBucket::State bandwidth;
    TokenBucket::State ops;
  };

  // Creates the limiter and its timerfd (CLOCK_MONOTONIC). `clock` must outlive it; tests pass
  // a fake one (the timerfd still runs in real time).
  [[nodiscard]] static Result<std::unique_ptr<RateLimiter>> create(
      const RateLimiterLimits& limits, const MonotonicClock& clock = system_monotonic_clock());
  // Use create() (only it can make the key).
  RateLimiter(ConstructionKey, const RateLimiterLimits& limits, const MonotonicClock& clock,
              UniqueFd timer);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes `tokens` of one kind, all or nothing. False while blocked, and when the bucket is
  // short (which blocks the limiter and arms the timer). A kind without a bucket always passes.
  [[nodiscard]] bool consume(uint64_t tokens, TokenKind kind);
  // One operation moving `bytes` bytes: one ops token and `bytes` bandwidth tokens, both or
  // neither (no manual undo needed).
  [[nodiscard]] bool consume_operation(uint64_t bytes);
  // Gives back tokens taken by consume() (when the rest of an operation could not proceed).
  void manual_replenish(uint64_t tokens, TokenKind kind);

  // Blocked: a consume() failed and the device has not handled the timer since.
  [[nodiscard]] bool blocked() const;
  [[nodiscard]] bool unlimited() const;
  // Readable when a blocked limiter is worth retrying.
  [[nodiscard]] int timer_fd() const { return timer_.get(); }
  // The timer fired: clears it and unblocks the limiter; the device should retry now.
  void on_timer_event();
  // Disarms and clears the timer and unblocks (the device was reset and forgot its requests).
  void cancel_timer();

  // Applies a PATCH. A blocked limiter stays blocked but its timer is fired at once, so the
  // device retries under the new limits on its next timer event.
  void update(const RateLimiterUpdate& update);
  [[nodiscard]] RateLimiterLimits limits() const;
  // Tokens in a kind's bucket now, burst not included; nullopt without a bucket (for tests and
  // metrics).
  [[nodiscard]] std::optional<uint64_t> budget(TokenKind kind) const;

  [[nodiscard]] State save_state() const;
  // Replaces limits and contents with a saved state's; on error nothing changes.
  [[nodiscard]] Result<void> restore_state(const State& state);

 private:
  std::optional<TokenBucket>& bucket(TokenKind kind);
  void refill_locked(uint64_t now);
  void block_locked(uint64_t wait_ns);
  void arm_timer_locked(uint64_t wait_ns);

  const MonotonicClock& clock_;
  const UniqueFd timer_;
  mutable std::mutex lock_;
  std::optional<TokenBucket> bandwidth_;
  std::optional<TokenBucket> ops_;
  bool blocked_ = false;
};

}  // namespace ember
