#include "snapshot/memory_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "snapshot/atomic_file.h"
#include "memory/guest_memory.h"
#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember {
namespace {

bool page_is_zero(const uint8_t* p) {
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < kMemoryPageSize / 8; ++i)
    if (w[i] != 0) return false;
  return true;
}

bool bit_set(const std::vector<uint64_t>& bitmap, uint64_t page) {
  const uint64_t word = page / 64;
  return word < bitmap.size() && ((bitmap[word] >> (page % 64)) & 1) != 0;
}

// Writes the runs of consecutive pages of every region that `wanted(region, page)` selects,
// into a file already sized to the whole memory.
template <class Wanted>
Result<void> write_pages(int fd, const std::string& path, const GuestMemory& mem, const Wanted& wanted) {
  uint64_t file_offset = 0;
  size_t region_index = 0;
  for (const auto& r : mem.regions()) {
    const uint64_t pages = r.size() / kMemoryPageSize;
    uint64_t page = 0;
    while (page < pages) {
      if (!wanted(region_index, r.host() + page * kMemoryPageSize, page)) {
        ++page;
        continue;
      }
      uint64_t end = page + 1;
      while (end < pages && wanted(region_index, r.host() + end * kMemoryPageSize, end)) ++end;
      TRY(write_all_at(fd, r.host() + page * kMemoryPageSize, (end - page) * kMemoryPageSize,
                       file_offset + page * kMemoryPageSize, "memory file " + path));
      page = end;
    }
    file_offset += r.size();
    ++region_index;
  }
  return {};
}

Result<void> size_file(int fd, const std::string& path, uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return errno_error("cannot size memory file " + path);
  return {};
}

}  // namespace

// For anonymous memory: which pages were ever touched (mincore(2)); the others are zero and need
// not even be read. Empty when that cannot be known (then every page is read).
std::vector<std::vector<uint8_t>> resident_pages(const GuestMemory& mem) {
  std::vector<std::vector<uint8_t>> resident;
  if (mem.file_backed()) return resident;
  for (const auto& r : mem.regions()) {
    std::vector<uint8_t> v(r.size() / kMemoryPageSize);
    if (::mincore(r.host(), r.size(), v.data()) != 0) return {};
    resident.push_back(std::move(v));
  }
  return resident;
}

Result<void> write_memory_file(const std::string& path, const GuestMemory& mem) {
  const auto resident = resident_pages(mem);
  return write_file_atomically(path, [&](int fd) -> Result<void> {
    TRY(size_file(fd, path, mem.total_size()));
    // Zero pages stay holes: most of a fresh guest's memory was never touched.
    return write_pages(fd, path, mem, [&](size_t region, const uint8_t* host, uint64_t page) {
      if (!resident.empty() && (resident[region][page] & 1) == 0) return false;
      return !page_is_zero(host);
    });
  });
}

Result<void> write_memory_diff_file(const std::string& path, const GuestMemory& mem, const DirtyBitmaps& dirty) {
  if (dirty.size() != mem.regions().size())
    return make_error("dirty page bitmaps for " + std::to_string(dirty.size()) + " regions, the VM has " +
                      std::to_string(mem.regions().size()));
  return write_file_atomically(path, [&](int fd) -> Result<void> {
    TRY(size_file(fd, path, mem.total_size()));
    // Every dirty page is written, zero or not: a hole means "unchanged" in a diff.
    bool any_clean = false;
    TRY(write_pages(fd, path, mem, [&](size_t region, const uint8_t*, uint64_t page) {
      const bool d = bit_set(dirty[region], page);
      any_clean |= !d;
      return d;
    }));
    if (any_clean && mem.total_size() > 0) {
      const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
      if (hole < 0 || static_cast<uint64_t>(hole) >= mem.total_size())
        return make_error("the file system of " + path +
                          " does not keep holes in sparse files, which a diff snapshot needs");
    }
    return {};
  });
}

Result<void> apply_memory_diff(const std::string& base_path, const std::string& diff_path) {
  UniqueFd base(::open(base_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!base.valid()) return errno_error("cannot open base memory file " + base_path);
  UniqueFd diff(::open(diff_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!diff.valid()) return errno_error("cannot open diff memory file " + diff_path);
  struct stat bs {}, ds {};
  if (::fstat(base.get(), &bs) != 0 || ::fstat(diff.get(), &ds) != 0) return errno_error("fstat");
  if (!S_ISREG(bs.st_mode) || !S_ISREG(ds.st_mode)) return make_error("memory files must be regular files");
  if (bs.st_size != ds.st_size)
    return make_error("diff memory file " + diff_path + " is " + std::to_string(ds.st_size) +
                      " bytes, the base " + base_path + " is " + std::to_string(bs.st_size));
  const off_t size = ds.st_size;
  std::vector<uint8_t> buf(1 << 20);
  off_t pos = 0;
  while (pos < size) {
    const off_t data = ::lseek(diff.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      return errno_error("SEEK_DATA in " + diff_path);
    }
    off_t hole = ::lseek(diff.get(), data, SEEK_HOLE);
    if (hole < 0) return errno_error("SEEK_HOLE in " + diff_path);
    hole = std::min(hole, size);
    for (off_t at = data; at < hole;) {
      const size_t want = static_cast<size_t>(std::min<off_t>(hole - at, static_cast<off_t>(buf.size())));
      const ssize_t n = ::pread(diff.get(), buf.data(), want, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_error("cannot read " + diff_path);
      TRY(write_all_at(base.get(), buf.data(), static_cast<size_t>(n), static_cast<uint64_t>(at),
                       "base memory file " + base_path));
      at += n;
    }
    pos = hole;
  }
  if (::fsync(base.get()) != 0) return errno_error("fsync " + base_path);
  return {};
}

}  // namespace ember
