// The text handshake of the hybrid vsock backend (Firecracker's docs/vsock.md): a host process
// connects to the device's Unix socket and sends "CONNECT <port>\n" naming the guest port;
// once the guest accepts, the device answers "OK <host port>\n" and the socket carries the
// stream from then on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ember::vsock {

// The longest command line accepted, newline included ("CONNECT 4294967294\n" is 19 bytes;
// the rest is room for extra spaces and a CR).
inline constexpr size_t kMaxConnectLine = 32;

// Parses a command line without its '\n': "CONNECT", one or more spaces, a decimal port of
// at most 10 digits, an optional '\r'. Port 2^32-1 (VMADDR_PORT_ANY) is not a destination.
[[nodiscard]] Result<uint32_t> parse_connect_line(std::string_view line);

// The reply sent once the guest accepted: "OK <port>\n".
[[nodiscard]] std::string connect_reply(uint32_t host_port);

enum class LineRead {
  kIncomplete,  // no newline yet; call again when the socket is readable
  kComplete,    // `line` holds the command, without its '\n'
  kClosed,      // the peer closed (or shut its write side) before a newline
  kTooLong,     // kMaxConnectLine bytes without a newline
};

// Reads from the non-blocking stream socket `fd` into `line` (which keeps a partial line
// between calls) without ever consuming a byte past the newline: whatever the host sent after
// the command belongs to the stream. An error is a socket error.
[[nodiscard]] Result<LineRead> read_connect_line(int fd, std::string* line);

}  // namespace ember::vsock
