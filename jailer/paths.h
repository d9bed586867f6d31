// Where a jail lives: <chroot base>/<exec file name>/<id>/root, and the paths inside it.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace ember::jailer {

struct JailPaths {
  std::string chroot_base;     // absolute, normalized
  std::string exec_file_name;  // last component of the exec file, e.g. "ember-static"
  std::string instance_dir;    // <chroot_base>/<exec_file_name>/<id>
  std::string chroot_dir;      // <instance_dir>/root: "/" of the jailed process
  std::string exec_on_host;    // <chroot_dir>/<exec_file_name>: the copy of the exec file
  std::string exec_in_jail;    // /<exec_file_name>
  std::string pid_file_in_jail;  // /<exec_file_name>.pid (--new-pid-ns)
};

// The last component of `path`; refuses paths that end in '/', ".", ".." or are empty.
[[nodiscard]] Result<std::string> file_name_of(std::string_view path);

// Makes `path` absolute against `cwd` (itself absolute) and removes ".", ".." and repeated '/'
// without looking at the file system. ".." at the root stays at the root.
[[nodiscard]] std::string normalize_absolute(std::string_view path, std::string_view cwd);

// Builds the paths for an absolute chroot base, an exec file name and a validated id. Refuses a
// chroot path that would not fit in PATH_MAX with room for the files inside it.
[[nodiscard]] Result<JailPaths> build_jail_paths(std::string_view chroot_base, std::string_view exec_file_name,
                                                 std::string_view id);

}  // namespace ember::jailer
