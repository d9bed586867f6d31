#include "emberctl/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ember::ctl {

std::string self_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

std::string guest_artifacts_dir(const char* env_value, const std::string& bin_dir) {
  if (env_value != nullptr && env_value[0] != '\0') return env_value;
  return (std::filesystem::path(bin_dir).parent_path() / "guest-artifacts").string();
}

GuestArtifacts guest_artifacts(const std::string& dir) {
  return {dir + "/kernel/vmlinux", dir + "/l2/initramfs.cpio.gz", dir + "/l2/rootfs.ext4"};
}

std::string default_ember_binary(const std::string& bin_dir) { return bin_dir + "/ember"; }

Result<std::string> default_pools_root(const char* xdg_state_home, const char* home) {
  // The XDG base directory spec: a relative $XDG_STATE_HOME is invalid and ignored.
  if (xdg_state_home != nullptr && xdg_state_home[0] == '/') return std::string(xdg_state_home) + "/ember/pools";
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.local/state/ember/pools";
  return make_error("neither XDG_STATE_HOME nor HOME is set: give --pool-dir");
}

Result<void> check_readable_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_error(what + " " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(what + " " + path + ": not a regular file");
  if (::access(path.c_str(), R_OK) != 0) return make_error(what + " " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace ember::ctl
