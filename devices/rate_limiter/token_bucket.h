// One token bucket of a rate limiter (Firecracker's TokenBucket of the API: `size` tokens,
// refilled at a constant rate from empty to full in `refill_time_ms`, plus a one-time burst).
// Pure arithmetic: no clock of its own, no timer, no locking (RateLimiter adds those).
//
// Rules (see devices/rate_limiter/README.md for the reasoning):
// - The bucket starts full, with the one-time burst on top. Takes spend the burst first; the
//   burst never refills.
// - A take is all-or-nothing.
// - A take larger than what the bucket can ever hold (more than size + remaining burst) is
//   allowed once the bucket is full; the excess becomes a debt that the refill pays back
//   before anything else gets through. So a big request is never starved, and the long-run
//   rate still holds.
// - Refill is exact: the fraction of a token earned so far is carried over, so frequent
//   refills lose nothing to rounding.
// - All values may be anything up to 2^64-1; the arithmetic is 128-bit and saturates where a
//   result could not fit (a wait longer than kMaxWaitNs is reported as kMaxWaitNs).
#pragma once

#include <cstdint>

#include "base/result.h"

namespace ember {

// One bucket's limits, the fields of the API's TokenBucket.
struct TokenBucketLimits {
  uint64_t size = 0;            // tokens in a full bucket
  uint64_t one_time_burst = 0;  // extra tokens spent before the bucket's, once
  uint64_t refill_time_ms = 0;  // time to refill an empty bucket completely

  // A bucket with size 0 or refill time 0 limits nothing (as in Firecracker).
  [[nodiscard]] bool limits_anything() const { return size != 0 && refill_time_ms != 0; }
  bool operator==(const TokenBucketLimits&) const = default;
};

class TokenBucket {
 public:
  // The longest wait wait_ns() reports (about 146 years): longer ones are "not in our lifetime".
  static constexpr uint64_t kMaxWaitNs = uint64_t{1} << 62;

  // What a snapshot keeps. Times are relative (ns since the last refill), so a state moves
  // between hosts and boots. Trivially copyable, no padding.
  struct State {
    uint64_t size;
    uint64_t one_time_burst;
    uint64_t refill_time_ms;
    uint64_t budget;       // tokens in the bucket
    uint64_t burst_left;   // one-time burst not spent yet
    uint64_t debt;         // tokens owed by an oversized take
    uint64_t carry_low;    // fraction of a token earned: token*ns, below the refill period
    uint64_t carry_high;
    uint64_t ns_since_update;
  };

  // `limits` must limit something (limits_anything()). The bucket starts full at `now_ns`.
  TokenBucket(const TokenBucketLimits& limits, uint64_t now_ns);

  // Adds the tokens earned between the last refill and `now_ns` (earlier times add nothing).
  void refill(uint64_t now_ns);
  // Whether take(tokens) would succeed now (no refill here: call refill() first).
  [[nodiscard]] bool can_take(uint64_t tokens) const;
  // Takes `tokens`; can_take(tokens) must hold.
  void take(uint64_t tokens);
  // Nanoseconds of refill after which can_take(tokens) holds; 0 when it already does.
  [[nodiscard]] uint64_t wait_ns(uint64_t tokens) const;
  // Gives tokens back (undoing a take): pays the debt first, then the bucket up to its size,
  // then the burst.
  void replenish(uint64_t tokens);

  [[nodiscard]] const TokenBucketLimits& limits() const { return limits_; }
  [[nodiscard]] uint64_t budget() const { return budget_; }
  [[nodiscard]] uint64_t burst_left() const { return burst_left_; }
  [[nodiscard]] uint64_t debt() const { return debt_; }

  [[nodiscard]] State save(uint64_t now_ns) const;
  // Checks a saved state and rebuilds the bucket, crediting the refill it had earned when saved.
  [[nodiscard]] static Result<TokenBucket> restore(const State& state, uint64_t now_ns);

 private:
  using u128 = unsigned __int128;
  [[nodiscard]] u128 period_ns() const;
  void credit_elapsed(uint64_t elapsed_ns);

  TokenBucketLimits limits_;
  uint64_t budget_;
  uint64_t burst_left_;
  uint64_t debt_ = 0;
  u128 carry_ = 0;  // token*ns earned beyond the whole tokens credited; < period_ns()
  uint64_t last_update_ns_;
};

}  // namespace ember
