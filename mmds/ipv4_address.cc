#include "mmds/ipv4_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace ember {

std::optional<Ipv4Address> parse_ipv4(std::string_view text) {
  // inet_pton (not a hand-written parser) decides what a dotted quad is; it needs a C string.
  if (text.size() > INET_ADDRSTRLEN - 1) return std::nullopt;
  char buf[INET_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  in_addr addr{};
  if (inet_pton(AF_INET, buf, &addr) != 1) return std::nullopt;
  Ipv4Address out;
  std::memcpy(out.data(), &addr.s_addr, out.size());  // network order: a.b.c.d in bytes 0..3
  return out;
}

std::string to_string(const Ipv4Address& address) {
  return std::to_string(address[0]) + "." + std::to_string(address[1]) + "." +
         std::to_string(address[2]) + "." + std::to_string(address[3]);
}

bool is_usable_link_local(const Ipv4Address& address) {
  return address[0] == 169 && address[1] == 254 && address[2] != 0 && address[2] != 255;
}

}  // namespace ember
