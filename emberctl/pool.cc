#include "emberctl/pool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "emberctl/context.h"
#include "emberctl/exit_codes.h"
#include "emberctl/interrupt.h"
#include "emberctl/paths.h"
#include "emberctl/run.h"
#include "emberctl/vm_boot.h"
#include "emberctl/vm_host.h"
#include "emberctl/vm_spec.h"
#include "base/file.h"

namespace ember::ctl {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxPoolJson = 64 * 1024;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void say_error(const std::string& message) { std::fprintf(stderr, "emberctl: %s\n", message.c_str()); }

// ember's version from GET /version ({"firecracker_version": "..."}).
Result<std::string> ember_version(ApiClient& api) {
  ASSIGN_OR_RETURN(ApiResponse r, api.request("GET", "/version"));
  if (r.status != 200) return make_error("GET /version: " + std::to_string(r.status) + " " + fault_message(r.body));
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("firecracker_version") || !j["firecracker_version"].is_string())
    return make_error("GET /version: unexpected answer " + r.body);
  return j["firecracker_version"].get<std::string>();
}

// The pools' look at a fresh ember (BootPlan::inspect): its version, into `*version`.
std::optional<BootFailure> inspect_ember_version(ApiClient& api, std::string* version) {
  auto answer = ember_version(api);
  if (!answer) return BootFailure(kExitVmStartFailed, answer.error().message);
  *version = std::move(answer).value();
  return std::nullopt;
}

Result<PoolInfo> read_pool(const PoolPaths& paths, const std::string& name) {
  struct stat st {};
  if (::stat(paths.info.c_str(), &st) != 0)
    return make_error("no pool '" + name + "' in " + std::filesystem::path(paths.dir).parent_path().string() +
                      " (emberctl pool ls lists them)");
  ASSIGN_OR_RETURN(auto bytes, read_file(paths.info, kMaxPoolJson));
  auto info = parse_pool_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!info) return with_context(paths.info, info.error());
  if (info->name != name) return make_error(paths.info + ": names pool '" + info->name + "', not '" + name + "'");
  return info;
}

Result<void> write_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return make_error("writing " + temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) return make_error("renaming " + temp + ": " + std::strerror(errno));
  return {};
}

}  // namespace

std::string pool_to_json(const PoolInfo& p) {
  json j = {{"format", p.format},
            {"name", p.name},
            {"ember_version", p.ember_version},
            {"agent_version", p.agent_version},
            {"created", p.created},
            {"kernel", p.kernel},
            {"initrd", p.initrd},
            {"rootfs", p.has_rootfs},
            {"vcpu_count", p.cpus},
            {"mem_size_mib", p.mem_mib},
            {"kernel_args", p.kernel_args}};
  return j.dump(2) + "\n";
}

Result<PoolInfo> parse_pool_json(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("pool.json is not a JSON object");
  auto str = [&j](const char* key, std::string* out) -> Result<void> {
    if (!j.contains(key) || !j[key].is_string()) return make_error(std::string("pool.json: '") + key + "' must be a string");
    *out = j[key].get<std::string>();
    return {};
  };
  auto uint = [&j](const char* key, uint64_t max, uint64_t* out) -> Result<void> {
    if (!j.contains(key) || !j[key].is_number_unsigned() || j[key].get<uint64_t>() < 1 || j[key].get<uint64_t>() > max)
      return make_error(std::string("pool.json: '") + key + "' must be an integer from 1 to " + std::to_string(max));
    *out = j[key].get<uint64_t>();
    return {};
  };
  PoolInfo p;
  uint64_t format = 0;
  TRY(uint("format", 1000, &format));
  if (format != kPoolFormat)
    return make_error("pool.json: format " + std::to_string(format) + ", this emberctl reads format " +
                      std::to_string(kPoolFormat) + ": recreate the pool");
  TRY(str("name", &p.name));
  TRY(check_pool_name(p.name));
  TRY(str("ember_version", &p.ember_version));
  TRY(str("agent_version", &p.agent_version));
  TRY(str("created", &p.created));
  TRY(str("kernel", &p.kernel));
  TRY(str("initrd", &p.initrd));
  TRY(str("kernel_args", &p.kernel_args));
  if (!j.contains("rootfs") || !j["rootfs"].is_boolean()) return make_error("pool.json: 'rootfs' must be true or false");
  p.has_rootfs = j["rootfs"].get<bool>();
  uint64_t cpus = 0, mem = 0;
  TRY(uint("vcpu_count", 32, &cpus));
  TRY(uint("mem_size_mib", 1u << 30, &mem));
  p.cpus = static_cast<uint32_t>(cpus);
  p.mem_mib = static_cast<uint32_t>(mem);
  return p;
}

Result<void> check_pool_name(const std::string& name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
  if (name.empty() || name.size() > 64 || !chars_ok || name[0] == '.' || name[0] == '-')
    return make_error("pool name '" + name + "': 1 to 64 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
  return {};
}

PoolPaths pool_paths(const std::string& pools_root, const std::string& name) {
  const std::string dir = pools_root + "/" + name;
  return {dir, dir + "/pool.json", dir + "/vm.state", dir + "/vm.mem", dir + "/rootfs.ext4"};
}

int pool_create(const PoolCreateOptions& o) {
  auto watch = InterruptWatch::install();
  if (!watch) {
    say_error(watch.error().message);
    return kExitInternal;
  }
  RunContext ctx(*watch, 0);
  std::string diagnostics;
  std::string message;
  auto fail = [&](int code, std::string text) {
    message = std::move(text);
    return ctx.fail(code, &message);
  };
  const PoolPaths paths = pool_paths(o.pools_root, o.name);
  const int code = [&]() -> int {
    if (auto r = check_pool_name(o.name); !r) return fail(kExitUsage, r.error().message);
    const std::string bin_dir = self_dir();
    const GuestArtifacts artifacts = guest_artifacts(guest_artifacts_dir(std::getenv("EMBER_GUEST_ARTIFACTS"), bin_dir));
    VmSpec spec;
    spec.kernel = o.kernel.empty() ? artifacts.kernel : o.kernel;
    spec.initrd = o.no_initrd ? "" : (o.initrd.empty() ? artifacts.initrd : o.initrd);
    spec.cpus = o.cpus;
    spec.mem_mib = o.mem_mib;
    spec.extra_boot_args = o.kernel_args;
    const std::string ember = o.ember.empty() ? default_ember_binary(bin_dir) : o.ember;
    if (auto r = check_readable_file(spec.kernel, "kernel"); !r) return fail(kExitMissingInput, r.error().message);
    if (!spec.initrd.empty())
      if (auto r = check_readable_file(spec.initrd, "initrd"); !r) return fail(kExitMissingInput, r.error().message);
    if (!o.rootfs.empty())
      if (auto r = check_readable_file(o.rootfs, "rootfs"); !r) return fail(kExitMissingInput, r.error().message);
    if (::access(ember.c_str(), X_OK) != 0) return fail(kExitMissingInput, "ember binary " + ember + " not found (--ember)");

    std::error_code ec;
    std::filesystem::create_directories(o.pools_root, ec);
    if (ec) return fail(kExitInternal, "creating " + o.pools_root + ": " + ec.message());
    if (o.force) std::filesystem::remove_all(paths.dir, ec);
    // mkdir is the lock: two creates of one name cannot both get here.
    if (::mkdir(paths.dir.c_str(), 0700) != 0) {
      if (errno == EEXIST) return fail(kExitUsage, "pool '" + o.name + "' exists (emberctl pool rm " + o.name + ", or --force)");
      return fail(kExitInternal, "creating " + paths.dir + ": " + std::strerror(errno));
    }
    bool done = false;
    struct Cleanup {
      const std::string& dir;
      bool& done;
      ~Cleanup() {
        std::error_code ignored;
        if (!done) std::filesystem::remove_all(dir, ignored);
      }
    } cleanup{paths.dir, done};

    PoolInfo info;
    info.name = o.name;
    info.kernel = spec.kernel;
    info.initrd = spec.initrd;
    info.cpus = o.cpus;
    info.mem_mib = o.mem_mib;
    info.kernel_args = o.kernel_args;
    info.created = utc_now();
    if (!o.rootfs.empty()) {
      // The snapshot names the disk by path: it lives in the pool, shared read-only by clones.
      if (auto r = copy_file_sparse(o.rootfs, paths.rootfs); !r) return fail(kExitInternal, "copying the rootfs: " + r.error().message);
      spec.rootfs = DiskSpec{paths.rootfs, true, false};
      info.has_rootfs = true;
    }

    auto host = VmHost::create(false);
    if (!host) return fail(kExitInternal, "scratch folder: " + host.error().message);
    VmHost& vm = **host;
    spec.vsock_uds = vm.vsock_socket();
    BootPlan plan;
    plan.ember = ember;
    plan.inspect = [&info](ApiClient& api) { return inspect_ember_version(api, &info.ember_version); };
    plan.calls = configure_calls(spec);
    plan.calls_step = "configuring the VM";
    plan.ready_timeout_s = o.ready_timeout_s;
    plan.not_ready = "the guest agent did not answer";
    auto boot = boot_vm(vm, plan, ctx);
    if (auto* failed = std::get_if<BootFailure>(&boot)) {
      diagnostics = std::move(failed->diagnostics);
      return fail(failed->code, std::move(failed->message));
    }
    BootedVm& booted = std::get<BootedVm>(boot);
    {
      // The connection closes here: clones start with none open.
      AgentConnection closing = std::move(booted.agent);
    }
    info.agent_version = booted.ready.agent_version;
    ctx.progress("pausing and taking the snapshot");
    if (auto r = send_calls(booted.api, {pause_call(), snapshot_create_call(paths.snapshot, paths.mem)}); !r) {
      diagnostics = vm.diagnostics();
      return fail(kExitVmStartFailed, "snapshot: " + r.error().message);
    }
    vm.stop_ember();
    if (auto r = write_atomically(paths.info, pool_to_json(info)); !r) return fail(kExitInternal, r.error().message);
    done = true;
    return 0;
  }();
  if (code == 0) {
    std::printf("pool %s created in %s (%.1f s)\n", o.name.c_str(), paths.dir.c_str(), ctx.elapsed_s());
  } else {
    say_error("pool create " + o.name + ": " + message);
    if (!diagnostics.empty()) std::fprintf(stderr, "%s", diagnostics.c_str());
  }
  return code;
}

int pool_run(const PoolRunOptions& o) {
  return run_reported(o.json, o.timeout_s, [&](RunContext& ctx, RunReport& report, std::string& diagnostics) -> int {
    auto fail = [&](int code, std::string text) {
      report.error = std::move(text);
      return ctx.fail(code, &report.error);
    };
    if (auto r = check_pool_name(o.name); !r) return fail(kExitUsage, r.error().message);
    const PoolPaths paths = pool_paths(o.pools_root, o.name);
    auto info = read_pool(paths, o.name);
    if (!info) return fail(kExitMissingInput, info.error().message);
    for (const auto& f : {paths.snapshot, paths.mem})
      if (auto r = check_readable_file(f, "pool file"); !r) return fail(kExitMissingInput, r.error().message);
    const std::string ember = o.ember.empty() ? default_ember_binary(self_dir()) : o.ember;
    if (::access(ember.c_str(), X_OK) != 0) return fail(kExitMissingInput, "ember binary " + ember + " not found (--ember)");
    int job_code = 0;
    if (auto r = check_job(o.job, &job_code); !r) return fail(job_code, r.error().message);

    auto host = VmHost::create(o.keep);
    if (!host) return fail(kExitInternal, "scratch folder: " + host.error().message);
    VmHost& vm = **host;
    if (o.keep) report.kept_scratch = vm.dir();
    BootPlan plan;
    plan.ember = ember;
    plan.inspect = [&](ApiClient& api) -> std::optional<BootFailure> {
      std::string version;
      if (auto failed = inspect_ember_version(api, &version)) return failed;
      if (version != info->ember_version)
        return BootFailure(kExitMissingInput, "pool '" + o.name + "' was made by ember " + info->ember_version +
                                                  ", this is ember " + version +
                                                  ": recreate it (emberctl pool create --force)");
      return std::nullopt;
    };
    // Each clone gets its own vsock socket; the snapshot's files are only read.
    plan.calls = {snapshot_load_call(paths.snapshot, paths.mem, vm.vsock_socket())};
    plan.calls_step = "loading the snapshot";
    plan.ready_timeout_s = o.ready_timeout_s;
    plan.not_ready = "the guest agent of the clone did not answer";
    return boot_and_run_job(vm, plan, o.job, ctx, report, diagnostics);
  });
}

int pool_list(const std::string& pools_root, bool as_json) {
  std::vector<PoolInfo> pools;
  std::error_code ec;
  std::filesystem::directory_iterator it(pools_root, ec);
  if (!ec) {
    for (const auto& entry : it) {
      if (!entry.is_directory(ec)) continue;
      const std::string name = entry.path().filename().string();
      if (!check_pool_name(name)) continue;
      auto info = read_pool(pool_paths(pools_root, name), name);
      if (info) pools.push_back(*info);  // unfinished or foreign folders are not pools
    }
  }
  std::sort(pools.begin(), pools.end(), [](const PoolInfo& a, const PoolInfo& b) { return a.name < b.name; });
  if (as_json) {
    json list = json::array();
    for (const auto& p : pools) list.push_back(json::parse(pool_to_json(p)));
    std::printf("%s\n", list.dump().c_str());
    return 0;
  }
  std::printf("%-24s %5s %8s  %-12s %s\n", "NAME", "CPUS", "MEM_MIB", "EMBER", "CREATED");
  for (const auto& p : pools)
    std::printf("%-24s %5u %8u  %-12s %s\n", p.name.c_str(), p.cpus, p.mem_mib, p.ember_version.c_str(), p.created.c_str());
  return 0;
}

int pool_remove(const std::string& pools_root, const std::string& name) {
  if (auto r = check_pool_name(name); !r) {
    say_error(r.error().message);
    return kExitUsage;
  }
  const PoolPaths paths = pool_paths(pools_root, name);
  struct stat st {};
  if (::stat(paths.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    say_error("no pool '" + name + "' in " + pools_root);
    return kExitMissingInput;
  }
  std::error_code ec;
  std::filesystem::remove_all(paths.dir, ec);
  if (ec) {
    say_error("removing " + paths.dir + ": " + ec.message());
    return kExitInternal;
  }
  return 0;
}

}  // namespace ember::ctl
