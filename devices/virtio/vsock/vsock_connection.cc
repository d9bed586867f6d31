#include "devices/virtio/vsock/vsock_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "base/errno_error.h"

namespace ember::vsock {

Result<size_t> send_nonblocking(int fd, std::span<const iovec> iov) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov.data());
  msg.msg_iovlen = iov.size();
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return errno_error("writing to the host socket");
  }
}

Connection::Connection(UniqueFd socket, uint32_t event_slot, uint32_t buf_alloc)
    : fd(std::move(socket)), slot(event_slot), credit(buf_alloc),
      // Room for a full credit of guest data plus the OK reply ahead of it.
      to_host(size_t{buf_alloc} + 32) {}

Result<size_t> Connection::write_to_host(std::span<const iovec> iov, bool guest_data) {
  size_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  size_t sent = 0;
  if (to_host.empty()) {
    ASSIGN_OR_RETURN(sent, send_nonblocking(fd.get(), iov));
  }
  // Keep the rest, in order, for when the socket is writable again.
  size_t skip = sent;
  for (const auto& v : iov) {
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    const auto* base = static_cast<const uint8_t*>(v.iov_base);
    to_host.append(std::span<const uint8_t>(base + skip, v.iov_len - skip));
    skip = 0;
  }
  if (!guest_data) {
    to_host_uncounted += total - sent;
    return size_t{0};
  }
  return sent;
}

Result<size_t> Connection::flush_to_host() {
  std::array<iovec, 2> iov{};
  const size_t count = to_host.readable(&iov);
  if (count == 0) return size_t{0};
  ASSIGN_OR_RETURN(const size_t sent, send_nonblocking(fd.get(), std::span(iov.data(), count)));
  to_host.consume(sent);
  const size_t uncounted = std::min(sent, to_host_uncounted);
  to_host_uncounted -= uncounted;
  return sent - uncounted;
}

}  // namespace ember::vsock
