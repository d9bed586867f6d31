#include "emberctl/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "emberctl/exit_codes.h"
#include "emberctl/paths.h"
#include "agent/protocol.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "dev"
#endif

namespace ember::ctl {
namespace {

// The --copy-in/--copy-out/--env strings of a command; turned into a GuestJob after parsing.
struct JobArgs {
  std::vector<std::string> copy_in, copy_out, env, command;
  std::string workdir;
};

// Each repeatable option takes exactly one value per occurrence (allow_extra_args(false)):
// otherwise CLI11 lets the value list run on and mis-parses a following "--".
void add_job_options(CLI::App* app, JobArgs& a) {
  app->add_option("--copy-in", a.copy_in, "HOST_FILE:GUEST_PATH, copied in before the command (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--copy-out", a.copy_out, "GUEST_FILE:HOST_PATH, copied out after the command, whatever its status (repeatable)")
      ->allow_extra_args(false);
  app->add_option("-e,--env", a.env, "NAME=value for the command's environment (repeatable)")
      ->allow_extra_args(false);
  app->add_option("-w,--workdir", a.workdir, "The command's working directory in the guest (default /)");
  app->add_option("command", a.command, "The command and its arguments, after --")->required();
}

Result<GuestJob> make_job(const JobArgs& a) {
  GuestJob job;
  for (const auto& c : a.copy_in) {
    ASSIGN_OR_RETURN(CopySpec spec, parse_copy_in(c));
    job.copy_in.push_back(spec);
  }
  for (const auto& c : a.copy_out) {
    ASSIGN_OR_RETURN(CopySpec spec, parse_copy_out(c));
    job.copy_out.push_back(spec);
  }
  job.env = a.env;
  job.workdir = a.workdir;
  job.command = a.command;
  return job;
}

void add_vm_options(CLI::App* app, std::string& kernel, std::string& initrd, bool& no_initrd, uint32_t& cpus,
                    uint32_t& mem, std::string& kernel_args, std::string& ember) {
  app->add_option("--kernel", kernel, "Guest kernel (default: the guest artifacts' kernel/vmlinux)");
  app->add_option("--initrd", initrd, "Guest initramfs (default: the guest artifacts' l2/initramfs.cpio.gz)");
  app->add_flag("--no-initrd", no_initrd, "Boot without an initramfs");
  app->add_option("--cpus", cpus, "vCPUs")->check(CLI::Range(1, 32))->capture_default_str();
  app->add_option("--mem", mem, "Guest memory in MiB")->check(CLI::Range(16, 1 << 20))->capture_default_str();
  app->add_option("--kernel-args", kernel_args, "Appended to the guest kernel command line");
  app->add_option("--ember", ember, "The ember binary (default: ember next to emberctl)");
}

std::string pools_root_default() {
  auto root = default_pools_root(std::getenv("XDG_STATE_HOME"), std::getenv("HOME"));
  return root ? *root : std::string();
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  ParsedCommandLine out;
  CLI::App app{"emberctl: run commands in throw-away ember microVMs", "emberctl"};
  app.set_version_flag("--version", std::string("emberctl v") + EMBER_VERSION + " (agent protocol " +
                                        std::to_string(agent::kProtocolVersion) + ")");
  app.require_subcommand(1);

  // run
  RunOptions& run = out.run;
  JobArgs run_job_args;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a command in a fresh microVM and exit with its status");
  add_vm_options(run_cmd, run.kernel, run.initrd, run.no_initrd, run.cpus, run.mem_mib, run.kernel_args, run.ember);
  run_cmd->add_option("--rootfs", run.rootfs, "Root filesystem image, copied for the run (default: the guest artifacts' l2/rootfs.ext4)");
  run_cmd->add_flag("--no-rootfs", run.no_rootfs, "Run from the initramfs alone");
  run_cmd->add_flag("--net", run.net, "Give the guest eth0 on a new tap device (root only)");
  run_cmd->add_option("--timeout", run.timeout_s, "Seconds for the whole run; then the VM is killed (exit 70)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--ready-timeout", run.ready_timeout_s, "Seconds to wait for the guest agent (exit 67)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd->add_flag("--json", run.json, "Print a JSON result line on stdout after the command's output");
  run_cmd->add_flag("--keep", run.keep, "Keep the scratch folder (console log, ember log, rootfs copy)");
  add_job_options(run_cmd, run_job_args);

  // api
  ApiCommandOptions& api = out.api;
  CLI::App* api_cmd = app.add_subcommand("api", "Send one request to a running ember's API");
  api_cmd->add_option("method", api.method, "GET, PUT or PATCH")->required();
  api_cmd->add_option("path", api.path, "e.g. /machine-config")->required();
  api_cmd->add_option("body", api.body, "JSON body; - reads stdin, @FILE reads FILE");
  api_cmd->add_option("--sock", api.socket, "The API socket")->capture_default_str();
  api_cmd->add_option("--timeout", api.timeout_s, "Seconds to wait for the answer")->check(CLI::PositiveNumber);

  // pool
  CLI::App* pool_cmd = app.add_subcommand("pool", "Warm pools of snapshot clones");
  pool_cmd->require_subcommand(1);
  const std::string default_root = pools_root_default();
  const std::string root_help = "Folder holding the pools (default $XDG_STATE_HOME/ember/pools or ~/.local/state/ember/pools)";

  PoolCreateOptions& pc = out.pool_create;
  pc.pools_root = default_root;
  CLI::App* create_cmd = pool_cmd->add_subcommand("create", "Boot a VM, wait for its agent, snapshot it as pool NAME");
  create_cmd->add_option("name", pc.name, "Pool name")->required();
  add_vm_options(create_cmd, pc.kernel, pc.initrd, pc.no_initrd, pc.cpus, pc.mem_mib, pc.kernel_args, pc.ember);
  create_cmd->add_option("--rootfs", pc.rootfs, "A disk image copied into the pool and attached read-only (default: none)");
  create_cmd->add_option("--ready-timeout", pc.ready_timeout_s, "Seconds to wait for the guest agent")->check(CLI::PositiveNumber);
  create_cmd->add_flag("--force", pc.force, "Replace an existing pool of that name");
  create_cmd->add_option("--pool-dir", pc.pools_root, root_help);

  PoolRunOptions& pr = out.pool_run;
  pr.pools_root = default_root;
  JobArgs pool_job_args;
  CLI::App* prun_cmd = pool_cmd->add_subcommand("run", "Run a command in a clone of pool NAME, then discard the clone");
  prun_cmd->add_option("name", pr.name, "Pool name")->required();
  prun_cmd->add_option("--timeout", pr.timeout_s, "Seconds for the whole run (exit 70)")->check(CLI::NonNegativeNumber);
  prun_cmd->add_option("--ready-timeout", pr.ready_timeout_s, "Seconds to wait for the clone's agent")->check(CLI::PositiveNumber);
  prun_cmd->add_flag("--json", pr.json, "Print a JSON result line on stdout after the command's output");
  prun_cmd->add_flag("--keep", pr.keep, "Keep the scratch folder");
  prun_cmd->add_option("--ember", pr.ember, "The ember binary (default: ember next to emberctl)");
  prun_cmd->add_option("--pool-dir", pr.pools_root, root_help);
  add_job_options(prun_cmd, pool_job_args);

  out.pools_root = default_root;
  CLI::App* ls_cmd = pool_cmd->add_subcommand("ls", "List the pools");
  ls_cmd->add_flag("--json", out.json, "One JSON array");
  ls_cmd->add_option("--pool-dir", out.pools_root, root_help);
  CLI::App* rm_cmd = pool_cmd->add_subcommand("rm", "Remove pool NAME");
  rm_cmd->add_option("name", out.pool_name, "Pool name")->required();
  rm_cmd->add_option("--pool-dir", out.pools_root, root_help);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    out.exit_code = code == 0 ? 0 : kExitUsage;
    return out;
  }

  auto usage_error = [&out](const std::string& message) {
    std::fprintf(stderr, "emberctl: %s\n", message.c_str());
    out.kind = ParsedCommandLine::Kind::kExit;
    out.exit_code = kExitUsage;
    return out;
  };
  auto need_root = [&](const std::string& root) { return root.empty() ? usage_error("give --pool-dir (neither XDG_STATE_HOME nor HOME is set)") : out; };

  if (run_cmd->parsed()) {
    auto job = make_job(run_job_args);
    if (!job) return usage_error(job.error().message);
    run.job = *job;
    out.kind = ParsedCommandLine::Kind::kRun;
  } else if (api_cmd->parsed()) {
    out.kind = ParsedCommandLine::Kind::kApi;
  } else if (create_cmd->parsed()) {
    out.kind = ParsedCommandLine::Kind::kPoolCreate;
    if (pc.pools_root.empty()) return need_root(pc.pools_root);
  } else if (prun_cmd->parsed()) {
    auto job = make_job(pool_job_args);
    if (!job) return usage_error(job.error().message);
    pr.job = *job;
    out.kind = ParsedCommandLine::Kind::kPoolRun;
    if (pr.pools_root.empty()) return need_root(pr.pools_root);
  } else if (ls_cmd->parsed()) {
    out.kind = ParsedCommandLine::Kind::kPoolList;
    if (out.pools_root.empty()) return need_root(out.pools_root);
  } else if (rm_cmd->parsed()) {
    out.kind = ParsedCommandLine::Kind::kPoolRemove;
    if (out.pools_root.empty()) return need_root(out.pools_root);
  }
  return out;
}

int emberctl_main(int argc, const char* const* argv) {
  // A closed pipe must be an error we report, not a silent death (the VM must be cleaned up).
  ::signal(SIGPIPE, SIG_IGN);
  ParsedCommandLine cmd = parse_command_line(argc, argv);
  switch (cmd.kind) {
    case ParsedCommandLine::Kind::kExit: return cmd.exit_code;
    case ParsedCommandLine::Kind::kRun: return run_command(cmd.run);
    case ParsedCommandLine::Kind::kApi: return api_command(cmd.api);
    case ParsedCommandLine::Kind::kPoolCreate: return pool_create(cmd.pool_create);
    case ParsedCommandLine::Kind::kPoolRun: return pool_run(cmd.pool_run);
    case ParsedCommandLine::Kind::kPoolList: return pool_list(cmd.pools_root, cmd.json);
    case ParsedCommandLine::Kind::kPoolRemove: return pool_remove(cmd.pools_root, cmd.pool_name);
  }
  return kExitInternal;
}

}  // namespace ember::ctl
