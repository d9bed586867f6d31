// Private working folders and the copies put in them.
#pragma once

#include <string>

#include "base/result.h"

namespace ember::ctl {

// A folder made with mkdtemp (mode 0700) and removed with everything in it on destruction,
// unless keep() was called.
class ScratchDir {
 public:
  // `parent` is created if missing; the folder is `parent/<prefix>XXXXXX`.
  [[nodiscard]] static Result<ScratchDir> create(const std::string& parent, const std::string& prefix);
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }
  // Removes it now; false when something stayed behind.
  bool remove();

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool keep_ = false;
};

// $TMPDIR, or /tmp.
[[nodiscard]] std::string temp_root();

// Copies the regular file `from` to the new file `to` (mode 0600, must not exist) without
// reading it more than needed: a reflink (FICLONE) where the filesystem shares blocks, else
// only the data ranges (SEEK_DATA/SEEK_HOLE), so holes stay holes.
[[nodiscard]] Result<void> copy_file_sparse(const std::string& from, const std::string& to);

}  // namespace ember::ctl
