#include "mmds/token_authority.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iterator>

namespace ember {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr size_t kTokenBytes = 36;  // Firecracker's token: 12-byte IV, 8-byte payload, 16-byte tag

std::string base64(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t n = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < size) n |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < size) n |= data[i + 2];
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[n & 63] : '=');
  }
  return out;
}

Result<void> fill_random(uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = getrandom(data + done, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::kHost,
                        std::string("getrandom for an MMDS token: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

TokenAuthority::TokenAuthority(const MonotonicClock& clock, size_t max_tokens)
    : clock_(clock), max_tokens_(max_tokens == 0 ? 1 : max_tokens) {}

Result<std::string> TokenAuthority::generate(uint32_t ttl_seconds) {
  if (ttl_seconds < kMinTtlSeconds || ttl_seconds > kMaxTtlSeconds) {
    return make_error(
        ErrorKind::kInvalid,
        "Invalid time to live value provided for token: " + std::to_string(ttl_seconds) +
            ". Please provide a value between " + std::to_string(kMinTtlSeconds) + " and " +
            std::to_string(kMaxTtlSeconds) + ".");
  }
  std::array<uint8_t, kTokenBytes> bytes{};
  TRY(fill_random(bytes.data(), bytes.size()));
  std::string token = base64(bytes.data(), bytes.size());
  make_room();
  // 288 random bits: a collision is not a practical concern, but a repeat would only refresh
  // the expiry of the same secret.
  tokens_[token] = Entry{clock_.now_ns() + uint64_t{ttl_seconds} * kNsPerSecond, next_serial_++};
  return token;
}

bool TokenAuthority::is_valid(std::string_view token) const {
  if (token.size() > kMaxTokenLength) return false;
  auto it = tokens_.find(std::string(token));
  // Valid strictly before its expiry, as Firecracker compares (expiry > now).
  return it != tokens_.end() && it->second.expiry_ns > clock_.now_ns();
}

void TokenAuthority::make_room() {
  const uint64_t now = clock_.now_ns();
  std::erase_if(tokens_, [now](const auto& item) { return item.second.expiry_ns <= now; });
  while (tokens_.size() >= max_tokens_) {
    auto oldest = tokens_.begin();
    for (auto it = tokens_.begin(); it != tokens_.end(); ++it)
      if (it->second.serial < oldest->second.serial) oldest = it;
    tokens_.erase(oldest);
  }
}

}  // namespace ember
