#include "mmds/token_authority.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ember {
namespace {

class FakeClock final : public MonotonicClock {
 public:
  [[nodiscard]] uint64_t now_ns() const override { return now; }
  void advance_s(uint64_t s) { now += s * 1'000'000'000; }
  uint64_t now = 1'000'000'000;
};

std::string ttl_error(uint32_t ttl) {
  return "Invalid time to live value provided for token: " + std::to_string(ttl) +
         ". Please provide a value between 1 and 21600.";
}

TEST(TokenAuthorityTest, TtlBoundsAndFirecrackersText) {
  FakeClock clock;
  TokenAuthority tokens(clock);
  for (uint32_t bad : {0u, 21601u, 4294967295u}) {
    auto r = tokens.generate(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalid);
    EXPECT_EQ(r.error().message, ttl_error(bad));
  }
  EXPECT_EQ(tokens.size(), 0u);
  for (uint32_t good : {1u, 10800u, 21600u}) EXPECT_TRUE(tokens.generate(good).ok()) << good;
}

TEST(TokenAuthorityTest, TokensAreRandomBase64OfFirecrackersLength) {
  FakeClock clock;
  TokenAuthority tokens(clock);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = tokens.generate(60);
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->size(), 48u);
    EXPECT_LE(token->size(), TokenAuthority::kMaxTokenLength);
    EXPECT_EQ(token->find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(*token).second);
    EXPECT_TRUE(tokens.is_valid(*token));
  }
}

TEST(TokenAuthorityTest, ExpiresAtItsTtl) {
  FakeClock clock;
  TokenAuthority tokens(clock);
  std::string one = tokens.generate(1).value();
  std::string sixty = tokens.generate(60).value();
  EXPECT_TRUE(tokens.is_valid(one));
  clock.now += 999'999'999;
  EXPECT_TRUE(tokens.is_valid(one));
  clock.now += 1;  // exactly at the expiry: no longer valid (Firecracker: expiry > now)
  EXPECT_FALSE(tokens.is_valid(one));
  EXPECT_TRUE(tokens.is_valid(sixty));
  clock.advance_s(59);
  EXPECT_FALSE(tokens.is_valid(sixty));
}

TEST(TokenAuthorityTest, UnknownAndOverlongTokensAreInvalid) {
  FakeClock clock;
  TokenAuthority tokens(clock);
  std::string token = tokens.generate(60).value();
  EXPECT_FALSE(tokens.is_valid(""));
  EXPECT_FALSE(tokens.is_valid("INVALID_TOKEN"));
  EXPECT_FALSE(tokens.is_valid(token.substr(1)));
  EXPECT_FALSE(tokens.is_valid(token + "x"));
  EXPECT_FALSE(tokens.is_valid(std::string(71, 'A')));
  EXPECT_FALSE(tokens.is_valid(std::string(1 << 20, 'A')));
  // Another authority's token (a restored VM's) is unknown here.
  TokenAuthority other(clock);
  EXPECT_FALSE(other.is_valid(token));
}

TEST(TokenAuthorityTest, FloodStaysBoundedAndEvictsTheOldest) {
  FakeClock clock;
  TokenAuthority tokens(clock, 8);
  std::vector<std::string> issued;
  for (int i = 0; i < 1000; ++i) issued.push_back(tokens.generate(21600).value());
  EXPECT_EQ(tokens.size(), 8u);
  for (size_t i = 0; i < issued.size() - 8; ++i) EXPECT_FALSE(tokens.is_valid(issued[i])) << i;
  for (size_t i = issued.size() - 8; i < issued.size(); ++i)
    EXPECT_TRUE(tokens.is_valid(issued[i])) << i;
}

TEST(TokenAuthorityTest, ExpiredTokensArePurgedBeforeEvictingLiveOnes) {
  FakeClock clock;
  TokenAuthority tokens(clock, 4);
  std::string keeper = tokens.generate(100).value();  // the oldest, but long-lived
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tokens.generate(1).ok());
  EXPECT_EQ(tokens.size(), 4u);
  clock.advance_s(2);
  std::string fresh = tokens.generate(1).value();
  EXPECT_EQ(tokens.size(), 2u);  // the three expired ones dropped, no live one evicted
  EXPECT_TRUE(tokens.is_valid(keeper));
  EXPECT_TRUE(tokens.is_valid(fresh));
}

TEST(TokenAuthorityTest, DefaultBoundHolds) {
  FakeClock clock;
  TokenAuthority tokens(clock);
  for (size_t i = 0; i < TokenAuthority::kMaxTokens + 100; ++i)
    ASSERT_TRUE(tokens.generate(21600).ok());
  EXPECT_EQ(tokens.size(), TokenAuthority::kMaxTokens);
}

}  // namespace
}  // namespace ember
