#include "snapshot/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember {
namespace {

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<void> write_all_at(int fd, const void* data, size_t size, uint64_t offset, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot write " + what);
    }
    if (n == 0) return make_error("cannot write " + what + ": no progress");
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Result<void> write_file_atomically(const std::string& path, const std::function<Result<void>(int fd)>& fill) {
  if (path.empty()) return make_error("empty file path");
  std::string tmp = path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot create a file next to " + path);
  tmp.assign(name.data());

  auto result = [&]() -> Result<void> {
    TRY(fill(fd.get()));
    if (::fsync(fd.get()) != 0) return errno_error("fsync " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error("cannot rename " + tmp + " to " + path);
    return {};
  }();
  if (!result) {
    ::unlink(tmp.c_str());
    return result.error();
  }
  // The rename itself must survive a crash too.
  UniqueFd dir(::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) (void)::fsync(dir.get());
  return {};
}

}  // namespace ember
