// `emberctl pool`: warm pools. `pool create` boots a VM once, waits for its agent, pauses it and
// takes a Full snapshot (Firecracker's API bodies); `pool run` loads that snapshot into a fresh
// ember with a vsock socket of its own, runs one command and throws the clone away. Clones
// share the snapshot files read-only, so any number run at once.
//
// A pool is a folder <pools root>/<NAME> holding pool.json (written last: a folder without it
// is an unfinished pool), vm.state, vm.mem and, with --rootfs, rootfs.ext4 (attached
// read-only to every clone, as /dev/vda; clones run from their initramfs, in RAM).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "emberctl/job.h"
#include "base/result.h"

namespace ember::ctl {

inline constexpr int kPoolFormat = 1;

struct PoolInfo {
  int format = kPoolFormat;
  std::string name;
  std::string ember_version;  // clones must be loaded by the same ember version
  std::string agent_version;
  std::string created;        // UTC, ISO 8601
  std::string kernel;         // as booted (for information: the snapshot holds the running kernel)
  std::string initrd;
  bool has_rootfs = false;    // rootfs.ext4 in the pool folder
  uint32_t cpus = 1;
  uint32_t mem_mib = 256;
  std::string kernel_args;
};

[[nodiscard]] std::string pool_to_json(const PoolInfo& info);
// Checks every field: types, ranges, the format number.
[[nodiscard]] Result<PoolInfo> parse_pool_json(std::string_view text);

// 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-'.
[[nodiscard]] Result<void> check_pool_name(const std::string& name);

struct PoolPaths {
  std::string dir;
  std::string info;      // pool.json
  std::string snapshot;  // vm.state
  std::string mem;       // vm.mem
  std::string rootfs;    // rootfs.ext4
};
[[nodiscard]] PoolPaths pool_paths(const std::string& pools_root, const std::string& name);

struct PoolCreateOptions {
  std::string pools_root;
  std::string name;
  std::string kernel, initrd;  // "" : the guest artifacts'
  bool no_initrd = false;
  std::string rootfs;          // "" : none
  uint32_t cpus = 1;
  uint32_t mem_mib = 256;
  std::string kernel_args;
  double ready_timeout_s = 120;
  std::string ember;
  bool force = false;  // replace an existing pool of that name
};

struct PoolRunOptions {
  std::string pools_root;
  std::string name;
  double timeout_s = 0;
  double ready_timeout_s = 30;
  bool json = false;
  bool keep = false;
  std::string ember;
  GuestJob job;
};

int pool_create(const PoolCreateOptions& options);
int pool_run(const PoolRunOptions& options);
int pool_list(const std::string& pools_root, bool json);
int pool_remove(const std::string& pools_root, const std::string& name);

}  // namespace ember::ctl
