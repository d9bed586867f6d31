#include "devices/rate_limiter/rate_limiter.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/errno_error.h"
#include "base/log.h"

namespace ember {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;

std::optional<TokenBucket> make_bucket(const std::optional<TokenBucketLimits>& limits,
                                       uint64_t now) {
  if (!limits || !limits->limits_anything()) return std::nullopt;
  return TokenBucket(*limits, now);
}

Result<std::optional<TokenBucket>> restore_bucket(uint8_t present, const TokenBucket::State& s,
                                                  uint64_t now, const char* kind) {
  if (present > 1)
    return make_error(std::string("rate limiter state: bad presence flag for the ") + kind +
                      " bucket");
  if (present == 0) return std::optional<TokenBucket>();
  auto bucket = TokenBucket::restore(s, now);
  if (!bucket) return with_context(std::string("rate limiter state, ") + kind + " bucket",
                                   bucket.error());
  return std::optional<TokenBucket>(std::move(bucket).value());
}

}  // namespace

Result<std::unique_ptr<RateLimiter>> RateLimiter::create(const RateLimiterLimits& limits,
                                                         const MonotonicClock& clock) {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return errno_error("rate limiter: timerfd_create");
  return std::make_unique<RateLimiter>(ConstructionKey(), limits, clock, UniqueFd(fd));
}

RateLimiter::RateLimiter(ConstructionKey, const RateLimiterLimits& limits,
                         const MonotonicClock& clock, UniqueFd timer)
    : clock_(clock), timer_(std::move(timer)) {
  const uint64_t now = clock_.now_ns();
  bandwidth_ = make_bucket(limits.bandwidth, now);
  ops_ = make_bucket(limits.ops, now);
}

RateLimiter::~RateLimiter() = default;

std::optional<TokenBucket>& RateLimiter::bucket(TokenKind kind) {
  return kind == TokenKind::kBytes ? bandwidth_ : ops_;
}

void RateLimiter::refill_locked(uint64_t now) {
  if (bandwidth_) bandwidth_->refill(now);
  if (ops_) ops_->refill(now);
}

bool RateLimiter::consume(uint64_t tokens, TokenKind kind) {
  std::lock_guard<std::mutex> guard(lock_);
  if (blocked_) return false;
  auto& b = bucket(kind);
  if (!b) return true;
  b->refill(clock_.now_ns());
  if (b->can_take(tokens)) {
    b->take(tokens);
    return true;
  }
  block_locked(b->wait_ns(tokens));
  return false;
}

bool RateLimiter::consume_operation(uint64_t bytes) {
  std::lock_guard<std::mutex> guard(lock_);
  if (blocked_) return false;
  if (!bandwidth_ && !ops_) return true;
  refill_locked(clock_.now_ns());
  const bool ops_ok = !ops_ || ops_->can_take(1);
  const bool bytes_ok = !bandwidth_ || bandwidth_->can_take(bytes);
  if (ops_ok && bytes_ok) {
    if (ops_) ops_->take(1);
    if (bandwidth_) bandwidth_->take(bytes);
    return true;
  }
  // Wait for whichever bucket needs longer: both must allow the operation.
  const uint64_t ops_wait = ops_ok ? 0 : ops_->wait_ns(1);
  const uint64_t bytes_wait = bytes_ok ? 0 : bandwidth_->wait_ns(bytes);
  block_locked(std::max(ops_wait, bytes_wait));
  return false;
}

void RateLimiter::manual_replenish(uint64_t tokens, TokenKind kind) {
  std::lock_guard<std::mutex> guard(lock_);
  auto& b = bucket(kind);
  if (b) b->replenish(tokens);
}

void RateLimiter::block_locked(uint64_t wait_ns) {
  blocked_ = true;
  arm_timer_locked(wait_ns);
}

void RateLimiter::arm_timer_locked(uint64_t wait_ns) {
  // A zero it_value would disarm the timer; rounding could in principle produce 0 here.
  wait_ns = std::clamp<uint64_t>(wait_ns, 1, TokenBucket::kMaxWaitNs);
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(wait_ns / kNsPerSec);
  spec.it_value.tv_nsec = static_cast<long>(wait_ns % kNsPerSec);
  if (::timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0) {
    // Cannot happen with a valid fd and a normalised value; without a timer the device would
    // wait forever, so say so loudly.
    log_error(std::string("rate limiter: timerfd_settime failed: ") + std::strerror(errno));
  }
}

bool RateLimiter::blocked() const {
  std::lock_guard<std::mutex> guard(lock_);
  return blocked_;
}

bool RateLimiter::unlimited() const {
  std::lock_guard<std::mutex> guard(lock_);
  return !bandwidth_ && !ops_;
}

void RateLimiter::on_timer_event() {
  std::lock_guard<std::mutex> guard(lock_);
  uint64_t expirations = 0;
  // Non-blocking: EAGAIN when the event was already consumed; nothing else can fail.
  (void)!::read(timer_.get(), &expirations, sizeof expirations);
  blocked_ = false;
}

void RateLimiter::cancel_timer() {
  std::lock_guard<std::mutex> guard(lock_);
  const itimerspec disarm{};
  (void)::timerfd_settime(timer_.get(), 0, &disarm, nullptr);
  uint64_t expirations = 0;
  (void)!::read(timer_.get(), &expirations, sizeof expirations);
  blocked_ = false;
}

void RateLimiter::update(const RateLimiterUpdate& update) {
  std::lock_guard<std::mutex> guard(lock_);
  const uint64_t now = clock_.now_ns();
  if (update.bandwidth) bandwidth_ = make_bucket(update.bandwidth, now);
  if (update.ops) ops_ = make_bucket(update.ops, now);
  // The request that blocked us may fit now: let the device retry through its timer path.
  if (blocked_) arm_timer_locked(1);
}

RateLimiterLimits RateLimiter::limits() const {
  std::lock_guard<std::mutex> guard(lock_);
  RateLimiterLimits out;
  if (bandwidth_) out.bandwidth = bandwidth_->limits();
  if (ops_) out.ops = ops_->limits();
  return out;
}

std::optional<uint64_t> RateLimiter::budget(TokenKind kind) const {
  std::lock_guard<std::mutex> guard(lock_);
  const auto& b = kind == TokenKind::kBytes ? bandwidth_ : ops_;
  if (!b) return std::nullopt;
  TokenBucket now = *b;  // refill a copy: looking must not change the bucket
  now.refill(clock_.now_ns());
  return now.budget();
}

RateLimiter::State RateLimiter::save_state() const {
  std::lock_guard<std::mutex> guard(lock_);
  const uint64_t now = clock_.now_ns();
  State s{};
  if (bandwidth_) {
    s.has_bandwidth = 1;
    s.bandwidth = bandwidth_->save(now);
  }
  if (ops_) {
    s.has_ops = 1;
    s.ops = ops_->save(now);
  }
  return s;
}

Result<void> RateLimiter::restore_state(const State& s) {
  std::lock_guard<std::mutex> guard(lock_);
  const uint64_t now = clock_.now_ns();
  ASSIGN_OR_RETURN(auto bandwidth, restore_bucket(s.has_bandwidth, s.bandwidth, now, "bandwidth"));
  ASSIGN_OR_RETURN(auto ops, restore_bucket(s.has_ops, s.ops, now, "ops"));
  bandwidth_ = std::move(bandwidth);
  ops_ = std::move(ops);
  return {};
}

}  // namespace ember
