#include "devices/virtio/vsock/connect_line.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/errno_error.h"

namespace ember::vsock {
namespace {

constexpr std::string_view kCommand = "CONNECT";
constexpr size_t kMaxPortDigits = 10;
constexpr uint64_t kPortAny = 0xffffffffull;  // VMADDR_PORT_ANY

// The command as the log shows it: in double quotes, with bytes that are not printable ASCII
// as \xNN. (Built in one string: GCC 12's -O3 warns falsely, -Wrestrict, on "\"" + string.)
std::string quoted_printable(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  out += '"';
  return out;
}

}  // namespace

Result<uint32_t> parse_connect_line(std::string_view line) {
  const std::string shown = quoted_printable(line);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with(kCommand))
    return make_error("vsock command " + shown + " is not \"CONNECT <port>\"");
  line.remove_prefix(kCommand.size());
  size_t spaces = 0;
  while (spaces < line.size() && line[spaces] == ' ') ++spaces;
  if (spaces == 0) return make_error("vsock command " + shown + " has no space before the port");
  line.remove_prefix(spaces);
  if (line.empty()) return make_error("vsock command " + shown + " has no port");
  if (line.size() > kMaxPortDigits)
    return make_error("vsock command " + shown + ": port is out of range");
  uint64_t port = 0;
  for (char c : line) {
    if (c < '0' || c > '9')
      return make_error("vsock command " + shown + ": port is not a decimal number");
    port = port * 10 + static_cast<uint64_t>(c - '0');  // at most 10 digits: no overflow
  }
  if (port >= kPortAny) return make_error("vsock command " + shown + ": port is out of range");
  return static_cast<uint32_t>(port);
}

std::string connect_reply(uint32_t host_port) { return "OK " + std::to_string(host_port) + "\n"; }

Result<LineRead> read_connect_line(int fd, std::string* line) {
  while (line->size() < kMaxConnectLine) {
    // Peek first so that the bytes after a newline stay in the socket.
    std::array<char, kMaxConnectLine> buf{};
    const size_t want = kMaxConnectLine - line->size();
    const ssize_t n = ::recv(fd, buf.data(), want, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return LineRead::kIncomplete;
      return errno_error("reading the vsock CONNECT command");
    }
    if (n == 0) return LineRead::kClosed;
    const auto* newline = static_cast<const char*>(std::memchr(buf.data(), '\n', n));
    const size_t take = newline != nullptr ? static_cast<size_t>(newline - buf.data()) + 1
                                           : static_cast<size_t>(n);
    // Consume exactly what was peeked up to the newline. Only this thread reads the socket,
    // so the bytes are still there.
    const ssize_t got = ::recv(fd, buf.data(), take, MSG_DONTWAIT);
    if (got < 0) return errno_error("reading the vsock CONNECT command");
    line->append(buf.data(), static_cast<size_t>(got));
    if (newline != nullptr && static_cast<size_t>(got) == take) {
      line->pop_back();  // the '\n'
      return LineRead::kComplete;
    }
  }
  return LineRead::kTooLong;
}

}  // namespace ember::vsock
