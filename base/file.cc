#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember {

Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + path);
  if (!S_ISREG(st.st_mode)) return make_error(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_size)
    return make_error(path + " is too large (" + std::to_string(st.st_size) + " bytes, limit " +
                      std::to_string(max_size) + ")");
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot read " + path);
    }
    if (n == 0) return make_error(path + " shrank while being read");
    done += static_cast<size_t>(n);
  }
  return data;
}

}  // namespace ember
