// The MMDS's IPv4 address: parsed from its dotted-quad text and held to Firecracker's rule for
// `ipv4_address` in PUT /mmds/config (a link-local address, RFC 3927 §2.1: 169.254/16 less its
// first and last /24, which the RFC reserves).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ember {

using Ipv4Address = std::array<uint8_t, 4>;

// Firecracker's default MMDS address.
inline constexpr Ipv4Address kDefaultMmdsIpv4 = {169, 254, 169, 254};

// "a.b.c.d", each part a decimal 0 to 255 without sign or leading zeros (inet_pton's rule for
// AF_INET); anything else is nullopt.
[[nodiscard]] std::optional<Ipv4Address> parse_ipv4(std::string_view text);
[[nodiscard]] std::string to_string(const Ipv4Address& address);
// 169.254.1.0 to 169.254.254.255.
[[nodiscard]] bool is_usable_link_local(const Ipv4Address& address);

}  // namespace ember
