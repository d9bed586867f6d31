#include "mmds/ipv4_address.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

TEST(Ipv4AddressTest, ParsesDottedQuads) {
  EXPECT_EQ(parse_ipv4("169.254.169.254"), (Ipv4Address{169, 254, 169, 254}));
  EXPECT_EQ(parse_ipv4("0.0.0.0"), (Ipv4Address{0, 0, 0, 0}));
  for (const char* bad : {"", "169.254.169", "169.254.169.256", "a.b.c.d", "169.254.169.254 ",
                          "1.2.3.4.5", "169.254.169.254.", "-1.2.3.4", "1111111111111111111111"})
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
  EXPECT_EQ(to_string(Ipv4Address{169, 254, 170, 2}), "169.254.170.2");
}

TEST(Ipv4AddressTest, UsableLinkLocalIsFirecrackersRule) {
  EXPECT_TRUE(is_usable_link_local({169, 254, 169, 254}));
  EXPECT_TRUE(is_usable_link_local({169, 254, 1, 0}));
  EXPECT_TRUE(is_usable_link_local({169, 254, 254, 255}));
  EXPECT_FALSE(is_usable_link_local({169, 254, 0, 10}));
  EXPECT_FALSE(is_usable_link_local({169, 254, 255, 1}));
  EXPECT_FALSE(is_usable_link_local({169, 253, 1, 1}));
  EXPECT_FALSE(is_usable_link_local({10, 0, 0, 1}));
}

}  // namespace
}  // namespace ember
