#include "emberctl/scratch.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::ctl {

Result<ScratchDir> ScratchDir::create(const std::string& parent, const std::string& prefix) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return make_error("creating " + parent + ": " + ec.message());
  std::string templ = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return errno_error("creating a folder in " + parent);
  return ScratchDir(std::move(templ));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept
    : path_(std::exchange(other.path_, std::string())), keep_(other.keep_) {}

ScratchDir::~ScratchDir() {
  if (!keep_) remove();
}

bool ScratchDir::remove() {
  if (path_.empty()) return true;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
  return !ec;
}

std::string temp_root() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && t[0] != '\0' ? t : "/tmp";
}

namespace {

Result<void> copy_range(int in, int out, off_t begin, off_t end) {
  off_t in_off = begin, out_off = begin;
  while (in_off < end) {
    const ssize_t n = ::copy_file_range(in, &in_off, out, &out_off, static_cast<size_t>(end - in_off), 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return make_error("the file shrank while being copied");
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno_error("copy_file_range");
    // Filesystems that refuse copy_file_range: plain reads and writes.
    std::vector<char> buf(1 << 20);
    while (in_off < end) {
      const ssize_t r = ::pread(in, buf.data(), std::min<size_t>(buf.size(), static_cast<size_t>(end - in_off)), in_off);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return errno_error("read");
      if (r == 0) return make_error("the file shrank while being copied");
      for (ssize_t done = 0; done < r;) {
        const ssize_t w = ::pwrite(out, buf.data() + done, static_cast<size_t>(r - done), out_off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error("write");
        done += w;
        out_off += w;
      }
      in_off += r;
    }
  }
  return {};
}

}  // namespace

Result<void> copy_file_sparse(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error(from);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return errno_error(from);
  if (!S_ISREG(st.st_mode)) return make_error(from + ": not a regular file");
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error(to);
  auto fail = [&to](Error e) {
    ::unlink(to.c_str());
    return with_context("copying to " + to, e);
  };
  if (::ioctl(out.get(), FICLONE, in.get()) == 0) return {};
  if (::ftruncate(out.get(), st.st_size) != 0) return fail(errno_error("ftruncate"));
  off_t pos = 0;
  while (pos < st.st_size) {
    const off_t data = ::lseek(in.get(), pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0) {
      // No SEEK_DATA support: copy everything from here.
      if (auto r = copy_range(in.get(), out.get(), pos, st.st_size); !r) return fail(r.error());
      break;
    }
    off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
    if (hole < 0) hole = st.st_size;
    if (auto r = copy_range(in.get(), out.get(), data, hole); !r) return fail(r.error());
    pos = hole;
  }
  return {};
}

}  // namespace ember::ctl
