// Token buckets and the rate limiter, with a clock moved by hand. The timerfd runs in real
// time; tests that need it to fire use short real delays.
#include "devices/rate_limiter/rate_limiter.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/timerfd.h>

#include <cstdint>
#include <limits>
#include <memory>
#include "tests/unit/devices/rate_limiter/fake_clock.h"

namespace ember {
namespace {

constexpr uint64_t kMs = 1'000'000;  // ns
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

struct FakeClock : testing_clock::FakeClock {
  FakeClock() : testing_clock::FakeClock(1'000'000'000'000) {}
};

// Remaining time on an armed timerfd, in ns (0: disarmed).
uint64_t timer_remaining_ns(int fd) {
  itimerspec spec{};
  EXPECT_EQ(::timerfd_gettime(fd, &spec), 0);
  return static_cast<uint64_t>(spec.it_value.tv_sec) * 1'000'000'000u +
         static_cast<uint64_t>(spec.it_value.tv_nsec);
}

bool readable_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// ---- TokenBucket: the arithmetic --------------------------------------------------------------

TEST(TokenBucket, StartsFullAndRefillsLinearly) {
  TokenBucket b({.size = 1000, .one_time_burst = 0, .refill_time_ms = 1000}, 0);
  EXPECT_EQ(b.budget(), 1000u);
  ASSERT_TRUE(b.can_take(1000));
  b.take(1000);
  EXPECT_FALSE(b.can_take(1));
  b.refill(250 * kMs);
  EXPECT_EQ(b.budget(), 250u);
  b.refill(2000 * kMs);
  EXPECT_EQ(b.budget(), 1000u) << "never above size";
}

TEST(TokenBucket, FrequentRefillsLoseNoFractions) {
  // 3 tokens per second: one every 333.33 ms. Refilling every ms must still give 3 per second.
  TokenBucket b({.size = 3, .one_time_burst = 0, .refill_time_ms = 1000}, 0);
  b.take(3);
  for (uint64_t ms = 1; ms <= 1000; ++ms) b.refill(ms * kMs);
  EXPECT_EQ(b.budget(), 3u);
}

TEST(TokenBucket, WaitIsExact) {
  TokenBucket b({.size = 3, .one_time_burst = 0, .refill_time_ms = 1000}, 0);
  b.take(3);
  const uint64_t wait = b.wait_ns(1);
  EXPECT_EQ(wait, 333'333'334u);  // ceil(1e9 / 3)
  b.refill(wait - 1);
  EXPECT_FALSE(b.can_take(1));
  b.refill(wait);
  EXPECT_TRUE(b.can_take(1));
  EXPECT_EQ(b.wait_ns(1), 0u);
}

TEST(TokenBucket, BurstIsSpentFirstAndOnlyOnce) {
  TokenBucket b({.size = 100, .one_time_burst = 50, .refill_time_ms = 100}, 0);
  ASSERT_TRUE(b.can_take(40));
  b.take(40);
  EXPECT_EQ(b.burst_left(), 10u);
  EXPECT_EQ(b.budget(), 100u);
  b.take(60);  // 10 from the burst, 50 from the bucket
  EXPECT_EQ(b.burst_left(), 0u);
  EXPECT_EQ(b.budget(), 50u);
  b.refill(1000 * kMs);
  EXPECT_EQ(b.budget(), 100u);
  EXPECT_EQ(b.burst_left(), 0u) << "the burst never refills";
  EXPECT_TRUE(b.can_take(100));
}

TEST(TokenBucket, OversizedTakeNeedsAFullBucketThenPaysDebt) {
  TokenBucket b({.size = 100, .one_time_burst = 0, .refill_time_ms = 100}, 0);  // 1 token/ms
  b.take(10);
  EXPECT_FALSE(b.can_take(250)) << "not full";
  EXPECT_EQ(b.wait_ns(250), 10 * kMs) << "waits until the bucket is full";
  b.refill(10 * kMs);
  ASSERT_TRUE(b.can_take(250));
  b.take(250);
  EXPECT_EQ(b.budget(), 0u);
  EXPECT_EQ(b.debt(), 150u);
  EXPECT_FALSE(b.can_take(1));
  EXPECT_EQ(b.wait_ns(1), 151 * kMs) << "the debt, then the token itself";
  b.refill(160 * kMs);
  EXPECT_EQ(b.debt(), 0u);
  EXPECT_EQ(b.budget(), 0u);
  b.refill(161 * kMs);
  EXPECT_TRUE(b.can_take(1));
}

TEST(TokenBucket, ReplenishUndoesATake) {
  TokenBucket b({.size = 100, .one_time_burst = 20, .refill_time_ms = 100}, 0);
  b.take(50);  // 20 burst + 30 bucket
  b.replenish(50);
  EXPECT_EQ(b.budget(), 100u);
  EXPECT_EQ(b.burst_left(), 20u);
  b.take(300);  // oversized: debt 180
  b.replenish(300);
  EXPECT_EQ(b.debt(), 0u);
  EXPECT_EQ(b.budget(), 100u);
  EXPECT_EQ(b.burst_left(), 20u);
}

TEST(TokenBucket, HugeValuesDoNotOverflow) {
  const uint64_t big = uint64_t{1} << 63;
  {
    TokenBucket b({.size = big, .one_time_burst = big, .refill_time_ms = 1000}, 0);
    ASSERT_TRUE(b.can_take(kU64Max)) << "burst + size covers 2^64-1";
    b.take(kU64Max);
    EXPECT_EQ(b.budget(), 1u);
    b.take(1);
    b.refill(1);  // 1 ns at 2^63 tokens per second
    EXPECT_EQ(b.budget(), big / 1'000'000'000u);
    b.refill(kU64Max);
    EXPECT_EQ(b.budget(), big);
  }
  {
    TokenBucket b({.size = kU64Max, .one_time_burst = 0, .refill_time_ms = kU64Max}, 0);
    b.take(kU64Max);
    EXPECT_EQ(b.wait_ns(kU64Max), TokenBucket::kMaxWaitNs) << "clamped, not wrapped";
    b.refill(kU64Max);  // elapsed * size near 2^128
    EXPECT_LE(b.budget(), kU64Max);
    EXPECT_GT(b.budget(), 0u);
  }
  {
    TokenBucket b({.size = 1, .one_time_burst = 0, .refill_time_ms = 1}, 0);
    ASSERT_TRUE(b.can_take(kU64Max)) << "oversized from a full bucket";
    b.take(kU64Max);
    EXPECT_EQ(b.debt(), kU64Max - 1);
    EXPECT_EQ(b.wait_ns(kU64Max), TokenBucket::kMaxWaitNs);
    b.refill(kU64Max);
    EXPECT_LT(b.debt(), kU64Max - 1) << "some debt paid";
  }
}

TEST(TokenBucket, SaveRestoreKeepsContentsAndRelativeTime) {
  TokenBucket b({.size = 1000, .one_time_burst = 7, .refill_time_ms = 1000}, 5 * kMs);
  b.take(1007);
  b.refill(6 * kMs);  // + 1 token
  const TokenBucket::State s = b.save(106 * kMs);  // 100 ms since the last refill
  EXPECT_EQ(s.ns_since_update, 100 * kMs);
  auto r = TokenBucket::restore(s, 999'999 * kMs);  // another host, another clock
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->budget(), 101u) << "the 100 ms earned before saving are credited";
  EXPECT_EQ(r->burst_left(), 0u);
  EXPECT_EQ(r->limits(), (TokenBucketLimits{1000, 7, 1000}));
}

TEST(TokenBucket, RestoreRejectsImpossibleStates) {
  TokenBucket b({.size = 10, .one_time_burst = 0, .refill_time_ms = 10}, 0);
  TokenBucket::State good = b.save(0);
  ASSERT_TRUE(TokenBucket::restore(good, 0).ok());
  auto s = good;
  s.budget = 11;
  EXPECT_FALSE(TokenBucket::restore(s, 0).ok());
  s = good;
  s.size = 0;
  s.budget = 0;
  EXPECT_FALSE(TokenBucket::restore(s, 0).ok());
  s = good;
  s.carry_high = 1;
  EXPECT_FALSE(TokenBucket::restore(s, 0).ok());
  s = good;
  s.debt = 5;  // with a full budget
  EXPECT_FALSE(TokenBucket::restore(s, 0).ok());
}

// ---- RateLimiter --------------------------------------------------------------------------

std::unique_ptr<RateLimiter> make_limiter(const RateLimiterLimits& limits,
                                          const MonotonicClock& clock) {
  auto r = RateLimiter::create(limits, clock);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

TEST(RateLimiter, NoBucketOrZeroBucketIsUnlimited) {
  FakeClock clock;
  auto none = make_limiter({}, clock);
  EXPECT_TRUE(none->unlimited());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(none->consume_operation(kU64Max));
  auto zero = make_limiter({.bandwidth = TokenBucketLimits{0, 10, 100},
                            .ops = TokenBucketLimits{10, 0, 0}},
                           clock);
  EXPECT_TRUE(zero->unlimited());
  EXPECT_TRUE(zero->consume(kU64Max, TokenKind::kBytes));
  EXPECT_TRUE(zero->consume(kU64Max, TokenKind::kOps));
  EXPECT_FALSE(zero->budget(TokenKind::kBytes).has_value());
  EXPECT_FALSE(zero->limits().bandwidth.has_value());
}

TEST(RateLimiter, RefillsOverTime) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 0, 100}}, clock);
  EXPECT_TRUE(rl->consume(600, TokenKind::kBytes));
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 400u);
  clock.advance(30 * kMs);
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 700u);
  EXPECT_TRUE(rl->consume(700, TokenKind::kBytes));
  EXPECT_FALSE(rl->blocked());
}

TEST(RateLimiter, BlocksArmsTimerAndWaitsForIt) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 0, 1000}}, clock);  // 1/ms
  ASSERT_TRUE(rl->consume(1000, TokenKind::kBytes));
  EXPECT_FALSE(rl->consume(300, TokenKind::kBytes));
  EXPECT_TRUE(rl->blocked());
  const uint64_t armed = timer_remaining_ns(rl->timer_fd());
  EXPECT_LE(armed, 300 * kMs);
  EXPECT_GT(armed, 250 * kMs) << "armed for when 300 tokens will be there";
  // Even with the tokens there, nothing passes until the device has handled the timer.
  clock.advance(500 * kMs);
  EXPECT_FALSE(rl->consume(1, TokenKind::kBytes));
  EXPECT_FALSE(rl->consume(1, TokenKind::kOps)) << "blocked means the whole limiter";
  rl->on_timer_event();
  EXPECT_FALSE(rl->blocked());
  EXPECT_TRUE(rl->consume(300, TokenKind::kBytes));
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 200u);
}

TEST(RateLimiter, TimerFiresInRealTime) {
  auto rl = make_limiter({.ops = TokenBucketLimits{1, 0, 20}}, system_monotonic_clock());
  ASSERT_TRUE(rl->consume(1, TokenKind::kOps));
  EXPECT_FALSE(rl->consume(1, TokenKind::kOps));
  EXPECT_FALSE(readable_within(rl->timer_fd(), 0));
  ASSERT_TRUE(readable_within(rl->timer_fd(), 2000));
  rl->on_timer_event();
  EXPECT_FALSE(readable_within(rl->timer_fd(), 0)) << "the event was read";
  EXPECT_TRUE(rl->consume(1, TokenKind::kOps));
}

TEST(RateLimiter, OpsAndBytesAreIndependent) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 0, 1000},
                          .ops = TokenBucketLimits{2, 0, 1000}},
                         clock);
  EXPECT_TRUE(rl->consume(2, TokenKind::kOps));
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 1000u) << "ops did not touch bytes";
  EXPECT_FALSE(rl->consume(1, TokenKind::kOps));
  rl->on_timer_event();
  EXPECT_TRUE(rl->consume(1000, TokenKind::kBytes)) << "the bytes bucket is full";
  EXPECT_EQ(rl->budget(TokenKind::kOps), 0u);

  auto bytes_only = make_limiter({.bandwidth = TokenBucketLimits{100, 0, 1000}}, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(bytes_only->consume(1, TokenKind::kOps));
}

TEST(RateLimiter, OperationTakesBothBucketsOrNeither) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 0, 1000},
                          .ops = TokenBucketLimits{10, 0, 1000}},
                         clock);
  EXPECT_TRUE(rl->consume_operation(900));
  EXPECT_FALSE(rl->consume_operation(200)) << "bytes short";
  EXPECT_EQ(rl->budget(TokenKind::kOps), 9u) << "the op token was not taken";
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 100u);
  // Armed for the bytes: 100 more tokens at 1/ms.
  EXPECT_GT(timer_remaining_ns(rl->timer_fd()), 90 * kMs);
  clock.advance(100 * kMs);
  rl->on_timer_event();
  EXPECT_TRUE(rl->consume_operation(200));
  EXPECT_EQ(rl->budget(TokenKind::kOps), 9u) << "9, +1 refilled in 100 ms, -1";
}

TEST(RateLimiter, ManualReplenishUndoes) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{100, 0, 1000},
                          .ops = TokenBucketLimits{5, 0, 1000}},
                         clock);
  ASSERT_TRUE(rl->consume(1, TokenKind::kOps));
  ASSERT_TRUE(rl->consume(101, TokenKind::kBytes)) << "oversized, from a full bucket";
  rl->manual_replenish(101, TokenKind::kBytes);
  rl->manual_replenish(1, TokenKind::kOps);
  EXPECT_EQ(rl->budget(TokenKind::kOps), 5u);
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 100u);
  rl->manual_replenish(1000, TokenKind::kOps);
  EXPECT_EQ(rl->budget(TokenKind::kOps), 5u) << "never above size";
}

TEST(RateLimiter, BigRequestIsNotStarved) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 0, 1000}}, clock);  // 1/ms
  ASSERT_TRUE(rl->consume(10, TokenKind::kBytes));
  EXPECT_FALSE(rl->consume(64 * 1024, TokenKind::kBytes)) << "waits for a full bucket";
  EXPECT_LE(timer_remaining_ns(rl->timer_fd()), 10 * kMs);
  clock.advance(10 * kMs);
  rl->on_timer_event();
  EXPECT_TRUE(rl->consume(64 * 1024, TokenKind::kBytes));
  // The excess is owed: the next byte waits for it.
  EXPECT_FALSE(rl->consume(1, TokenKind::kBytes));
  const uint64_t owed_ms = 64 * 1024 - 1000 + 1;
  EXPECT_GT(timer_remaining_ns(rl->timer_fd()), (owed_ms - 50) * kMs);
  clock.advance(owed_ms * kMs);
  rl->on_timer_event();
  EXPECT_TRUE(rl->consume(1, TokenKind::kBytes));
}

TEST(RateLimiter, UpdateAtRuntime) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{100, 0, 1000},
                          .ops = TokenBucketLimits{5, 0, 1000}},
                         clock);
  ASSERT_TRUE(rl->consume(100, TokenKind::kBytes));
  ASSERT_TRUE(rl->consume(5, TokenKind::kOps));
  // Only the bandwidth bucket changes: it is replaced by a fresh, full one.
  rl->update({.bandwidth = TokenBucketLimits{500, 20, 1000}});
  EXPECT_EQ(rl->limits().bandwidth, (TokenBucketLimits{500, 20, 1000}));
  EXPECT_EQ(rl->limits().ops, (TokenBucketLimits{5, 0, 1000}));
  EXPECT_EQ(rl->budget(TokenKind::kBytes), 500u);
  EXPECT_EQ(rl->budget(TokenKind::kOps), 0u) << "left as it was";
  // Blocked on ops; removing the ops limit fires the timer at once so the device retries.
  EXPECT_FALSE(rl->consume(1, TokenKind::kOps));
  ASSERT_TRUE(rl->blocked());
  rl->update({.ops = TokenBucketLimits{0, 0, 0}});
  EXPECT_FALSE(rl->limits().ops.has_value());
  EXPECT_TRUE(readable_within(rl->timer_fd(), 1000));
  rl->on_timer_event();
  EXPECT_TRUE(rl->consume(1'000'000, TokenKind::kOps));
  rl->update({.bandwidth = TokenBucketLimits{0, 0, 0}});
  EXPECT_TRUE(rl->unlimited());
  rl->update({.ops = TokenBucketLimits{1, 0, 10}});
  EXPECT_FALSE(rl->unlimited());
}

TEST(RateLimiter, CancelTimerUnblocksAndDisarms) {
  FakeClock clock;
  auto rl = make_limiter({.ops = TokenBucketLimits{1, 0, 1000}}, clock);
  ASSERT_TRUE(rl->consume(1, TokenKind::kOps));
  ASSERT_FALSE(rl->consume(1, TokenKind::kOps));
  EXPECT_GT(timer_remaining_ns(rl->timer_fd()), 0u);
  rl->cancel_timer();
  EXPECT_FALSE(rl->blocked());
  EXPECT_EQ(timer_remaining_ns(rl->timer_fd()), 0u);
}

TEST(RateLimiter, SaveRestore) {
  FakeClock clock;
  auto rl = make_limiter({.bandwidth = TokenBucketLimits{1000, 50, 1000},
                          .ops = TokenBucketLimits{10, 0, 100}},
                         clock);
  ASSERT_TRUE(rl->consume_operation(850));  // 50 burst + 800 bucket
  clock.advance(100 * kMs);                  // +100 bytes; ops back to full
  const RateLimiter::State s = rl->save_state();
  EXPECT_EQ(s.has_bandwidth, 1);
  EXPECT_EQ(s.has_ops, 1);

  FakeClock other;
  other.now = 42;
  auto restored = make_limiter({}, other);
  ASSERT_TRUE(restored->restore_state(s).ok());
  EXPECT_EQ(restored->budget(TokenKind::kBytes), 300u);
  EXPECT_EQ(restored->budget(TokenKind::kOps), 10u);
  EXPECT_EQ(restored->limits().bandwidth, (TokenBucketLimits{1000, 50, 1000}));
  other.advance(100 * kMs);
  EXPECT_EQ(restored->budget(TokenKind::kBytes), 400u) << "refill goes on after restore";

  auto bad = s;
  bad.has_ops = 2;
  EXPECT_FALSE(restored->restore_state(bad).ok());
  bad = s;
  bad.bandwidth.budget = 5000;
  auto r = restored->restore_state(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bandwidth"), std::string::npos) << r.error().message;
  EXPECT_EQ(restored->budget(TokenKind::kBytes), 400u) << "a failed restore changes nothing";

  RateLimiter::State empty{};
  ASSERT_TRUE(restored->restore_state(empty).ok());
  EXPECT_TRUE(restored->unlimited());
}

}  // namespace
}  // namespace ember
