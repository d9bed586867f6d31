#include "emberctl/run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "emberctl/context.h"
#include "emberctl/exit_codes.h"
#include "emberctl/interrupt.h"
#include "emberctl/paths.h"
#include "emberctl/vm_boot.h"
#include "emberctl/vm_host.h"
#include "emberctl/vm_spec.h"

namespace ember::ctl {
namespace {

// Every host resource lives inside this function: when it returns, the VM is stopped and the
// scratch folder, sockets and tap are gone.
int run_in_vm(const RunOptions& o, const RunContext& ctx, RunReport& report, std::string& diagnostics) {
  auto fail = [&](int code, std::string message) {
    report.error = std::move(message);
    return ctx.fail(code, &report.error);
  };

  // Inputs, before anything is started.
  const std::string bin_dir = self_dir();
  const GuestArtifacts artifacts = guest_artifacts(guest_artifacts_dir(std::getenv("EMBER_GUEST_ARTIFACTS"), bin_dir));
  VmSpec spec;
  spec.kernel = o.kernel.empty() ? artifacts.kernel : o.kernel;
  spec.initrd = o.no_initrd ? "" : (o.initrd.empty() ? artifacts.initrd : o.initrd);
  const std::string rootfs = o.no_rootfs ? "" : (o.rootfs.empty() ? artifacts.rootfs : o.rootfs);
  spec.cpus = o.cpus;
  spec.mem_mib = o.mem_mib;
  spec.extra_boot_args = o.kernel_args;
  const std::string ember = o.ember.empty() ? default_ember_binary(bin_dir) : o.ember;
  auto missing = [&](const Error& e) {
    return fail(kExitMissingInput, e.message + " (build the guest artifacts with scripts/build-guest-artifacts.sh, "
                                                "or set EMBER_GUEST_ARTIFACTS)");
  };
  if (auto r = check_readable_file(spec.kernel, "kernel"); !r) return missing(r.error());
  if (!spec.initrd.empty())
    if (auto r = check_readable_file(spec.initrd, "initrd"); !r) return missing(r.error());
  if (!rootfs.empty())
    if (auto r = check_readable_file(rootfs, "rootfs"); !r) return missing(r.error());
  if (::access(ember.c_str(), X_OK) != 0) return fail(kExitMissingInput, "ember binary " + ember + " not found or not executable (--ember)");
  int job_code = 0;
  if (auto r = check_job(o.job, &job_code); !r) return fail(job_code, r.error().message);

  auto host = VmHost::create(o.keep);
  if (!host) return fail(kExitInternal, "scratch folder: " + host.error().message);
  VmHost& vm = **host;
  if (o.keep) report.kept_scratch = vm.dir();
  ctx.progress("scratch folder " + vm.dir());
  if (!rootfs.empty()) {
    const std::string copy = vm.file("rootfs.ext4");
    if (auto r = copy_file_sparse(rootfs, copy); !r) return fail(kExitInternal, "copying the rootfs: " + r.error().message);
    spec.rootfs = DiskSpec{copy, false, true};
  }
  if (o.net) {
    if (auto r = vm.create_tap(default_tap_name()); !r) return fail(kExitVmStartFailed, r.error().message);
    spec.tap = vm.tap_name();
    ctx.progress("tap " + spec.tap);
  }
  spec.vsock_uds = vm.vsock_socket();

  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", o.ready_timeout_s);
  BootPlan plan;
  plan.ember = ember;
  plan.calls = configure_calls(spec);
  plan.calls_step = "configuring the VM";
  plan.ready_timeout_s = o.ready_timeout_s;
  plan.not_ready = "the guest agent did not answer within " + std::string(limit) + " s (--ready-timeout)";
  return boot_and_run_job(vm, plan, o.job, ctx, report, diagnostics);
}

}  // namespace

int boot_and_run_job(VmHost& vm, const BootPlan& plan, const GuestJob& job, const RunContext& ctx, RunReport& report,
                     std::string& diagnostics) {
  auto boot = boot_vm(vm, plan, ctx);
  if (auto* failed = std::get_if<BootFailure>(&boot)) {
    diagnostics = std::move(failed->diagnostics);
    report.start_s = failed->start_s;
    report.error = std::move(failed->message);
    return ctx.fail(failed->code, &report.error);
  }
  BootedVm& booted = std::get<BootedVm>(boot);
  report.start_s = booted.start_s;
  report.ready_s = booted.ready_s;
  const int code = run_job(booted.agent, job, ctx, vm.ember_exit_fd(), report);
  if (!report.error.empty() && code != kExitCommandNotStarted && code != kExitCopyFailed) diagnostics = vm.diagnostics();
  ctx.progress("stopping the VM");
  vm.stop_ember();
  return code;
}

void print_outcome(const RunReport& report, const std::string& diagnostics, bool json) {
  if (!report.error.empty()) std::fprintf(stderr, "emberctl: %s\n", report.error.c_str());
  if (!diagnostics.empty()) std::fprintf(stderr, "%s", diagnostics.c_str());
  if (!report.kept_scratch.empty()) std::fprintf(stderr, "emberctl: kept %s\n", report.kept_scratch.c_str());
  if (json) {
    std::fflush(stderr);
    std::printf("%s%s\n", report.stdout_open_line ? "\n" : "", report_json(report).c_str());
    std::fflush(stdout);
  }
}

int run_reported(bool json, double timeout_s,
                 const std::function<int(RunContext& ctx, RunReport& report, std::string& diagnostics)>& body) {
  RunReport report;
  auto watch = InterruptWatch::install();
  if (!watch) {
    report.exit_code = kExitInternal;
    report.error = watch.error().message;
    print_outcome(report, "", json);
    return report.exit_code;
  }
  RunContext ctx(*watch, timeout_s);
  std::string diagnostics;
  report.exit_code = body(ctx, report, diagnostics);
  report.timed_out = report.exit_code == kExitTimeout && ctx.timed_out();
  report.total_s = ctx.elapsed_s();
  print_outcome(report, diagnostics, json);
  return report.exit_code;
}

int run_command(const RunOptions& options) {
  return run_reported(options.json, options.timeout_s, [&](RunContext& ctx, RunReport& report, std::string& diagnostics) {
    return run_in_vm(options, ctx, report, diagnostics);
  });
}

}  // namespace ember::ctl
