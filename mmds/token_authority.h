// MMDS V2 session tokens: PUT /latest/api/token hands the guest a token that GETs must carry
// until it expires (ttl 1 to 21600 s, Firecracker's bounds and error text).
//
// Firecracker seals each token's expiry with AES-256-GCM, so it keeps no state per token. ember
// links no crypto library, so it keeps a table instead: each token is 36 random bytes from
// getrandom(2), base64 (48 characters, the length of Firecracker's tokens), mapped to its
// expiry. The table is bounded (kMaxTokens): every insert first drops the expired tokens, and
// when it is still full the oldest token is evicted. Only the guest can ask for tokens, so a
// flood can only push out the guest's own older tokens, and the memory stays bounded.
//
// Not thread-safe: MmdsDataStore serialises the calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "devices/rate_limiter/clock.h"

namespace ember {

class TokenAuthority {
 public:
  static constexpr uint32_t kMinTtlSeconds = 1;
  static constexpr uint32_t kMaxTtlSeconds = 21600;
  // Firecracker refuses anything longer without decrypting it; we refuse it without a lookup.
  static constexpr size_t kMaxTokenLength = 70;
  static constexpr size_t kMaxTokens = 1024;

  explicit TokenAuthority(const MonotonicClock& clock = system_monotonic_clock(),
                          size_t max_tokens = kMaxTokens);

  // A new token valid for `ttl_seconds`; kInvalid with Firecracker's text for a ttl out of
  // bounds, kHost when the kernel gives no random bytes.
  [[nodiscard]] Result<std::string> generate(uint32_t ttl_seconds);
  // True while `token` was generated here and has not expired.
  [[nodiscard]] bool is_valid(std::string_view token) const;
  // Tokens held now (expired ones included until the next insert drops them).
  [[nodiscard]] size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    uint64_t expiry_ns = 0;
    uint64_t serial = 0;  // insertion order, to find the oldest
  };
  void make_room();

  const MonotonicClock& clock_;
  size_t max_tokens_;
  uint64_t next_serial_ = 0;
  std::unordered_map<std::string, Entry> tokens_;
};

}  // namespace ember
