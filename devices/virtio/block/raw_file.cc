#include "devices/virtio/block/raw_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <utility>

#include "base/errno_error.h"
#include "base/log.h"

namespace ember {

Result<RawDiskFile> RawDiskFile::open(const std::string& path, bool read_only) {
  const int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd.valid()) return errno_error("cannot open disk image " + path);

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat disk image " + path);
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0)
      return errno_error("cannot read the size of block device " + path);
  } else {
    return make_error("disk image " + path + " is neither a regular file nor a block device");
  }
  if (size % kSectorSize != 0)
    log_warn("disk image " + path + " is " + std::to_string(size) +
             " bytes, not a multiple of 512: the guest sees only the whole sectors");
  return RawDiskFile(std::move(fd), size, read_only, path);
}

}  // namespace ember
