// Where emberctl finds what it needs when the command line does not say: the guest artifacts
// scripts/build-guest-artifacts.sh builds, ember itself, and the pools.
#pragma once

#include <string>

#include "base/result.h"

namespace ember::ctl {

// The folder of the running emberctl binary (/proc/self/exe resolved), e.g. build/bin.
[[nodiscard]] std::string self_dir();

// $EMBER_GUEST_ARTIFACTS when set and not empty, else `<bin_dir>/../guest-artifacts` (emberctl in
// build/bin finds build/guest-artifacts).
[[nodiscard]] std::string guest_artifacts_dir(const char* env_value, const std::string& bin_dir);

struct GuestArtifacts {
  std::string kernel;  // <dir>/kernel/vmlinux
  std::string initrd;  // <dir>/l2/initramfs.cpio.gz
  std::string rootfs;  // <dir>/l2/rootfs.ext4
};
[[nodiscard]] GuestArtifacts guest_artifacts(const std::string& dir);

// `<bin_dir>/ember`.
[[nodiscard]] std::string default_ember_binary(const std::string& bin_dir);

// Where pools live: $XDG_STATE_HOME/ember/pools, else $HOME/.local/state/ember/pools. An error
// when neither variable is set.
[[nodiscard]] Result<std::string> default_pools_root(const char* xdg_state_home, const char* home);

// A readable regular file, or an error naming `what` ("--kernel") and the path.
[[nodiscard]] Result<void> check_readable_file(const std::string& path, const std::string& what);

}  // namespace ember::ctl
