#include "vmm/snapshot/describe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"
#include "snapshot/state_file.h"

namespace ember {
namespace {

// snapshot/state_file.h's header: magic, 4-byte little-endian version, 4 reserved bytes, 8-byte
// payload size. The whole header must be there (a file cut inside it is called truncated), but
// only the version is taken from it.
constexpr size_t kVersionOffset = sizeof kStateFileMagic;
constexpr size_t kHeaderSize = kVersionOffset + sizeof(uint32_t) + sizeof(uint32_t) + sizeof(uint64_t);

}  // namespace

std::string snapshot_version_string(uint32_t version) { return "v" + std::to_string(version) + ".0.0"; }

std::string supported_snapshot_version() { return snapshot_version_string(kSnapshotFormatVersion); }

Result<uint32_t> read_snapshot_format_version(const std::string& path) {
  // O_NONBLOCK: a FIFO given by mistake must not hang the open; it is refused below.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid())
    return make_error(ErrorKind::kInvalid, "cannot open snapshot state file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return make_error(ErrorKind::kHost, "cannot stat snapshot state file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::kInvalid, path + " is not a regular file");
  if (st.st_size == 0) return make_error(ErrorKind::kInvalid, path + " is empty, not an ember snapshot state file");

  uint8_t header[kHeaderSize];
  size_t got = 0;
  while (got < sizeof header) {
    const ssize_t n = ::read(fd.get(), header + got, sizeof header - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return make_error(ErrorKind::kHost, "cannot read snapshot state file " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  // The magic first, so that a short file of another kind is called what it is.
  const size_t magic_bytes = got < sizeof kStateFileMagic ? got : sizeof kStateFileMagic;
  if (std::memcmp(header, kStateFileMagic, magic_bytes) != 0)
    return make_error(ErrorKind::kInvalid, path + " is not an ember snapshot state file (no EMBERSNP magic)");
  if (got < sizeof header)
    return make_error(ErrorKind::kInvalid, path + " is truncated: " + std::to_string(got) +
                                               " bytes, shorter than the state file header");
  return static_cast<uint32_t>(header[kVersionOffset]) | static_cast<uint32_t>(header[kVersionOffset + 1]) << 8 |
         static_cast<uint32_t>(header[kVersionOffset + 2]) << 16 |
         static_cast<uint32_t>(header[kVersionOffset + 3]) << 24;
}

}  // namespace ember
