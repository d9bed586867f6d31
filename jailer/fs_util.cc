#include "jailer/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::jailer {

Result<std::string> read_text_file(const std::string& path, size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open " + path);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot read " + path);
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > max_size)
      return make_error(path + " is larger than " + std::to_string(max_size) + " bytes");
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

Result<void> write_existing_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open " + path);
  ssize_t n;
  do {
    n = ::write(fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("writing '" + text + "' to " + path);
  if (static_cast<size_t>(n) != text.size())
    return make_error("short write of '" + text + "' to " + path);
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_empty_directory(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  std::error_code ec;
  std::filesystem::directory_iterator it(path, ec);
  return !ec && it == std::filesystem::directory_iterator();
}

Result<std::vector<std::string>> make_directories(const std::string& path, mode_t mode) {
  if (path.empty() || path[0] != '/') return make_error("not an absolute path: '" + path + "'");
  std::vector<std::string> created;
  // On failure, the levels made so far go again: the caller sees all or nothing.
  auto undo = [&created] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
  };
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix.back() == '/') continue;
    if (::mkdir(prefix.c_str(), mode) == 0) {
      created.push_back(prefix);
      continue;
    }
    if (errno != EEXIST) {
      Error error = errno_error("cannot create directory " + prefix);
      undo();
      return error;
    }
    struct stat st {};
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      undo();
      return make_error(prefix + " exists and is not a directory");
    }
  }
  return created;
}

}  // namespace ember::jailer
