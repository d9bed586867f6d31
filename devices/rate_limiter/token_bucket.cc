#include "devices/rate_limiter/token_bucket.h"

#include <algorithm>
#include <limits>
#include <string>

#include "base/check.h"

namespace ember {
namespace {

using u128 = unsigned __int128;

constexpr u128 kU128Max = ~u128{0};
constexpr uint64_t kNsPerMs = 1'000'000;

u128 saturating_add(u128 a, u128 b) { return a > kU128Max - b ? kU128Max : a + b; }

uint64_t clamp_to_u64(u128 v) {
  return v > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max()
                                                  : static_cast<uint64_t>(v);
}

}  // namespace

TokenBucket::TokenBucket(const TokenBucketLimits& limits, uint64_t now_ns)
    : limits_(limits),
      budget_(limits.size),
      burst_left_(limits.one_time_burst),
      last_update_ns_(now_ns) {
  CHECK_MSG(limits.limits_anything(), "TokenBucket built from limits that limit nothing");
}

// refill_time_ms can be up to 2^64-1, so the period needs more than 64 bits (< 2^84).
TokenBucket::u128 TokenBucket::period_ns() const { return u128{limits_.refill_time_ms} * kNsPerMs; }

void TokenBucket::refill(uint64_t now_ns) {
  if (now_ns <= last_update_ns_) return;  // monotonic; an earlier time earns nothing
  const uint64_t elapsed = now_ns - last_update_ns_;
  last_update_ns_ = now_ns;
  credit_elapsed(elapsed);
}

void TokenBucket::credit_elapsed(uint64_t elapsed_ns) {
  if (debt_ == 0 && budget_ == limits_.size) {
    carry_ = 0;  // a full bucket earns nothing, not even a fraction
    return;
  }
  // Tokens earned: elapsed * size / period, in exact integer arithmetic. The product of two
  // 64-bit values fits in 128 bits; adding the carry (< 2^84) can only saturate when the
  // product is so large that the bucket is full anyway.
  const u128 earned = saturating_add(u128{elapsed_ns} * limits_.size, carry_);
  const u128 period = period_ns();
  u128 tokens = earned / period;
  carry_ = earned % period;

  const u128 paid = std::min<u128>(tokens, debt_);
  debt_ -= static_cast<uint64_t>(paid);
  tokens -= paid;
  const uint64_t room = limits_.size - budget_;
  budget_ += static_cast<uint64_t>(std::min<u128>(tokens, room));
  if (budget_ == limits_.size) carry_ = 0;
}

bool TokenBucket::can_take(uint64_t tokens) const {
  if (tokens == 0) return true;
  if (debt_ != 0) return false;
  if (u128{burst_left_} + budget_ >= tokens) return true;
  // More than the bucket can ever hold: allowed from a full bucket (the excess becomes debt).
  return budget_ == limits_.size && tokens > u128{limits_.size} + burst_left_;
}

void TokenBucket::take(uint64_t tokens) {
  CHECK_MSG(can_take(tokens), "TokenBucket::take without can_take");
  const uint64_t from_burst = std::min(burst_left_, tokens);
  burst_left_ -= from_burst;
  tokens -= from_burst;
  if (tokens <= budget_) {
    budget_ -= tokens;
    return;
  }
  debt_ = tokens - budget_;
  budget_ = 0;
}

uint64_t TokenBucket::wait_ns(uint64_t tokens) const {
  if (can_take(tokens)) return 0;
  // The bucket must pay its debt and then hold what the burst does not cover, or be full
  // when even a full bucket cannot cover it.
  const uint64_t beyond_burst = tokens > burst_left_ ? tokens - burst_left_ : 0;
  const uint64_t target = std::min(beyond_burst, limits_.size);
  const u128 needed = u128{debt_} + target - std::min(budget_, target);
  if (needed == 0) return 0;
  // Smallest t with t * size + carry >= needed * period.
  const u128 period = period_ns();
  if (needed > kU128Max / period) return kMaxWaitNs;
  const u128 owed = needed * period - std::min(carry_, needed * period);
  const u128 wait = (owed + limits_.size - 1) / limits_.size;
  return wait >= kMaxWaitNs ? kMaxWaitNs : static_cast<uint64_t>(wait);
}

void TokenBucket::replenish(uint64_t tokens) {
  const uint64_t paid = std::min(tokens, debt_);
  debt_ -= paid;
  tokens -= paid;
  const uint64_t to_budget = std::min(tokens, limits_.size - budget_);
  budget_ += to_budget;
  tokens -= to_budget;
  burst_left_ = clamp_to_u64(u128{burst_left_} + tokens);
  if (budget_ == limits_.size && debt_ == 0) carry_ = 0;
}

TokenBucket::State TokenBucket::save(uint64_t now_ns) const {
  State s{};
  s.size = limits_.size;
  s.one_time_burst = limits_.one_time_burst;
  s.refill_time_ms = limits_.refill_time_ms;
  s.budget = budget_;
  s.burst_left = burst_left_;
  s.debt = debt_;
  s.carry_low = static_cast<uint64_t>(carry_);
  s.carry_high = static_cast<uint64_t>(carry_ >> 64);
  s.ns_since_update = now_ns > last_update_ns_ ? now_ns - last_update_ns_ : 0;
  return s;
}

Result<TokenBucket> TokenBucket::restore(const State& s, uint64_t now_ns) {
  const TokenBucketLimits limits{s.size, s.one_time_burst, s.refill_time_ms};
  if (!limits.limits_anything())
    return make_error("token bucket state has size " + std::to_string(s.size) +
                      " and refill time " + std::to_string(s.refill_time_ms) +
                      " ms: a saved bucket limits something");
  if (s.budget > s.size)
    return make_error("token bucket state holds " + std::to_string(s.budget) +
                      " tokens, more than its size " + std::to_string(s.size));
  if (s.debt != 0 && s.budget != 0)
    return make_error("token bucket state has both a debt and tokens");
  TokenBucket bucket(limits, now_ns);
  bucket.budget_ = s.budget;
  bucket.burst_left_ = s.burst_left;
  bucket.debt_ = s.debt;
  bucket.carry_ = (u128{s.carry_high} << 64) | s.carry_low;
  if (bucket.carry_ >= bucket.period_ns())
    return make_error("token bucket state carries a token fraction beyond its refill period");
  bucket.credit_elapsed(s.ns_since_update);
  return bucket;
}

}  // namespace ember
