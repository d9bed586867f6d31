#include "jailer/paths.h"

#include <climits>
#include <vector>

namespace ember::jailer {

Result<std::string> file_name_of(std::string_view path) {
  if (path.empty()) return make_error("empty path");
  if (path.back() == '/') return make_error("'" + std::string(path) + "' names a directory, not a file");
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name == "." || name == "..") return make_error("'" + std::string(path) + "' does not end in a file name");
  return std::string(name);
}

std::string normalize_absolute(std::string_view path, std::string_view cwd) {
  std::string joined;
  if (path.empty() || path.front() != '/') {
    joined.assign(cwd);
    joined.push_back('/');
  }
  joined.append(path);
  std::vector<std::string_view> parts;
  const std::string_view all(joined);
  size_t start = 0;
  while (start <= all.size()) {
    size_t end = all.find('/', start);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view part = all.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out.push_back('/');
    out.append(part);
  }
  return out.empty() ? "/" : out;
}

Result<JailPaths> build_jail_paths(std::string_view chroot_base, std::string_view exec_file_name,
                                   std::string_view id) {
  JailPaths p;
  p.chroot_base = std::string(chroot_base);
  p.exec_file_name = std::string(exec_file_name);
  const std::string base = p.chroot_base == "/" ? "" : p.chroot_base;
  p.instance_dir = base + "/" + p.exec_file_name + "/" + std::string(id);
  p.chroot_dir = p.instance_dir + "/root";
  p.exec_on_host = p.chroot_dir + "/" + p.exec_file_name;
  p.exec_in_jail = "/" + p.exec_file_name;
  p.pid_file_in_jail = p.exec_in_jail + ".pid";
  // The longest host path the jailer builds is <chroot>/<exec name>.pid or <chroot>/dev/net/tun.
  if (p.exec_on_host.size() + 16 >= PATH_MAX)
    return make_error("the chroot path " + p.chroot_dir + " is too long (PATH_MAX is " + std::to_string(PATH_MAX) + ")");
  return p;
}

}  // namespace ember::jailer
