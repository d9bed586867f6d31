#include "devices/virtio/vsock/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "base/errno_error.h"

namespace ember::vsock {
namespace {

bool make_address(const std::string& path, sockaddr_un* addr) {
  if (!fits_unix_path(path) || path.empty()) return false;
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

Result<UniqueFd> new_socket() {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("creating a Unix socket");
  return UniqueFd(fd);
}

}  // namespace

bool fits_unix_path(const std::string& path) {
  return path.size() < sizeof(sockaddr_un{}.sun_path) &&
         path.find('\0') == std::string::npos;
}

Result<UniqueFd> listen_unix(const std::string& path, int backlog) {
  if (path.empty()) return make_error("vsock uds_path is empty");
  sockaddr_un addr{};
  if (!make_address(path, &addr))
    return make_error("vsock uds_path \"" + path + "\" is longer than the " +
                      std::to_string(sizeof(addr.sun_path) - 1) +
                      " bytes a Unix socket path can have");
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0)
    return make_error("vsock uds_path \"" + path + "\" already exists; remove it first");
  ASSIGN_OR_RETURN(UniqueFd fd, new_socket());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno == EADDRINUSE)
      return make_error("vsock uds_path \"" + path + "\" already exists; remove it first");
    return errno_error("binding the vsock socket \"" + path + "\"");
  }
  if (::listen(fd.get(), backlog) < 0) {
    auto err = errno_error("listening on the vsock socket \"" + path + "\"");
    ::unlink(path.c_str());
    return err;
  }
  return fd;
}

Result<UniqueFd> accept_unix(int listener) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == EINTR) continue;
    // A connection that went away before it was accepted is no error of ours.
    if (errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return UniqueFd();
    return errno_error("accepting a vsock connection");
  }
}

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (!make_address(path, &addr))
    return make_error("\"" + path + "\" is too long for a Unix socket path");
  ASSIGN_OR_RETURN(UniqueFd fd, new_socket());
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
      return fd;
    if (errno != EINTR) return errno_error("connecting to \"" + path + "\"");
  }
}

}  // namespace ember::vsock
