// A raw disk image (a regular file or a host block device) opened as a virtio-block backend.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

class RawDiskFile {
 public:
  static constexpr uint64_t kSectorSize = 512;  // virtio-block's unit, whatever the host's is

  // Opens `path` read-write, or read-only when `read_only`. A size that is not a multiple of
  // 512 bytes loses its tail (logged): the guest can only address whole sectors.
  [[nodiscard]] static Result<RawDiskFile> open(const std::string& path, bool read_only);

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] uint64_t size_bytes() const { return size_bytes_; }
  [[nodiscard]] uint64_t capacity_sectors() const { return size_bytes_ / kSectorSize; }
  [[nodiscard]] bool read_only() const { return read_only_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  RawDiskFile(UniqueFd fd, uint64_t size_bytes, bool read_only, std::string path)
      : fd_(std::move(fd)), size_bytes_(size_bytes), read_only_(read_only), path_(std::move(path)) {}

  UniqueFd fd_;
  uint64_t size_bytes_;
  bool read_only_;
  std::string path_;
};

}  // namespace ember
