// `emberctl run`: one command in a fresh throw-away microVM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "emberctl/context.h"
#include "emberctl/job.h"
#include "emberctl/report.h"
#include "emberctl/vm_boot.h"
#include "emberctl/vm_host.h"

namespace ember::ctl {

struct RunOptions {
  std::string kernel;  // "" : the guest artifacts' kernel/vmlinux
  std::string initrd;  // "" : the guest artifacts' l2/initramfs.cpio.gz
  std::string rootfs;  // "" : the guest artifacts' l2/rootfs.ext4 (copied; the original is never written)
  bool no_initrd = false;
  bool no_rootfs = false;  // the guest runs from its initramfs alone
  uint32_t cpus = 1;
  uint32_t mem_mib = 256;
  std::string kernel_args;  // appended to the guest command line
  bool net = false;
  double timeout_s = 0;        // 0: none
  double ready_timeout_s = 120;
  bool json = false;
  bool keep = false;
  std::string ember;  // "" : `ember` next to emberctl
  GuestJob job;
};

// Runs it and returns emberctl's exit status; prints errors (and --json's line) itself.
int run_command(const RunOptions& options);

// The frame of `run` and `pool run`: installs the interrupt watch, gives `body` a context with
// the run's time limit, then reports (print_outcome) what `body` returned (emberctl's exit
// status) with the diagnostics it left.
int run_reported(bool json, double timeout_s,
                 const std::function<int(RunContext& ctx, RunReport& report, std::string& diagnostics)>& body);

// The VM part of `run` and `pool run`: boots `plan` on `vm` (boot_vm), runs `job` on its agent
// and stops the VM. Fills the report; returns emberctl's exit status, with the diagnostics of a
// failure the VM had a part in.
int boot_and_run_job(VmHost& vm, const BootPlan& plan, const GuestJob& job, const RunContext& ctx, RunReport& report,
                     std::string& diagnostics);

// Prints a finished run: the error and diagnostics on stderr, and with `json` the JSON line on
// stdout (after a newline when the command's output left a line open).
void print_outcome(const RunReport& report, const std::string& diagnostics, bool json);

}  // namespace ember::ctl
