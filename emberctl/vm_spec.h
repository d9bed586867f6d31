// What emberctl asks ember for, as the API requests that configure it (Firecracker's bodies).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember {
class ApiClient;
}

namespace ember::ctl {

// The guest CID every emberctl VM gets (each VM has its own vsock device, so they never meet).
inline constexpr uint32_t kGuestCid = 3;

struct DiskSpec {
  std::string path;
  bool read_only = false;
  // The guest's /init mounts it as its root (ember.root=/dev/vda) when true; else it is only
  // attached, as /dev/vda.
  bool switch_root = true;
};

struct VmSpec {
  std::string kernel;
  std::string initrd;               // empty: none
  std::optional<DiskSpec> rootfs;   // the first (and only) drive, "rootfs"
  uint32_t cpus = 1;
  uint32_t mem_mib = 256;
  std::string extra_boot_args;      // appended to the command line
  std::string vsock_uds;            // the hybrid vsock's uds_path
  std::string tap;                  // empty: no network
};

struct ApiCall {
  std::string method;
  std::string path;
  std::string body;
};

// The guest kernel command line: console, reboot and panic behaviour, the i8042 settings
// ember's default has, `quiet` (the console is a file nobody watches), `ember.agent=1` for the
// guest's /init, `ember.root=/dev/vda` when the disk is the root, then `extra`.
[[nodiscard]] std::string boot_args(const VmSpec& spec);

// The requests that configure a fresh ember for `spec`, in order, ending with InstanceStart.
[[nodiscard]] std::vector<ApiCall> configure_calls(const VmSpec& spec);

// Snapshot requests of the pool (Firecracker's bodies).
[[nodiscard]] ApiCall pause_call();
[[nodiscard]] ApiCall snapshot_create_call(const std::string& snapshot_path, const std::string& mem_path);
[[nodiscard]] ApiCall snapshot_load_call(const std::string& snapshot_path, const std::string& mem_path,
                                         const std::string& vsock_uds);

// Sends each call; the first answer that is not 2xx is an error carrying ember's fault_message.
[[nodiscard]] Result<void> send_calls(ApiClient& client, const std::vector<ApiCall>& calls);

// {"fault_message": "..."}'s message, or the body as it is.
[[nodiscard]] std::string fault_message(const std::string& body);

}  // namespace ember::ctl
