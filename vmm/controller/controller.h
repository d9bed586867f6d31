// The one place actions are carried out, on the VMM thread. Before InstanceStart (or a snapshot
// load) it assembles the configuration (the pre-boot side); after it, it runs the microVM (the
// runtime side). Every action type has its own handler, chosen by std::visit: an action added
// to VmmAction that nobody handles does not compile. Each handler returns a typed ActionResult;
// the front ends (api/ for HTTP, ember/main.cc for the config file) turn it into their output.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "config/vm_config.h"
#include "mmds/service.h"
#include "vmm/controller/action.h"
#include "vmm/controller/vm_factory.h"
#include "vmm/metrics/metrics.h"
#include "vmm/vm.h"
#include "vmm/vm_exit.h"

namespace ember {

struct ControllerOptions {
  std::string instance_id = "anonymous-instance";
  bool boot_timer = false;
  int console_out_fd = 1;
  int console_in_fd = 0;
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
  std::string vcpu_thread_prefix = "ember_vcpu";  // VmOptions::vcpu_thread_prefix
  // --mmds-size-limit: the MMDS data store's limit, in bytes of its compact JSON.
  size_t mmds_size_limit = 51200;
};

class Controller {
 public:
  // Everything passed in must outlive the controller.
  Controller(const ControllerOptions& options, EventLoop& loop, ExitSignal& exit, Metrics& metrics,
             VmFactory& factory);
  // Stops the VM (joins its vCPUs).
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Carries out one action on the calling (VMM) thread.
  [[nodiscard]] ActionResult handle(const VmmAction& action);

  // The microVM, once started or restored; nullptr before.
  [[nodiscard]] Vm* vm() const { return vm_.get(); }
  // The metadata service (Firecracker's MMDS): its store lives beside the VM, from the start.
  [[nodiscard]] MmdsService& mmds() { return *mmds_; }
  [[nodiscard]] const MmdsService& mmds() const { return *mmds_; }

 private:
  // Shown by the GETs and handed to the VM at InstanceStart: the draft before a VM exists, the
  // VM's own (PATCHes included) after. One configuration, never two copies to keep in step.
  [[nodiscard]] const VmConfig& config() const { return vm_ ? vm_->config() : draft_; }
  [[nodiscard]] bool started() const { return vm_ != nullptr; }

  ActionResult on(const GetInstanceInfo&);
  ActionResult on(const GetVersion&);
  ActionResult on(const GetMachineConfig&);
  ActionResult on(const PutMachineConfig& a);
  ActionResult on(const PatchMachineConfig& a);
  ActionResult on(const PutBootSource& a);
  ActionResult on(const PutDrive& a);
  ActionResult on(const PatchDrive& a);
  ActionResult on(const PutNetworkInterface& a);
  ActionResult on(const PatchNetworkInterface& a);
  ActionResult on(const PutVsock& a);
  ActionResult on(const InstanceStart&);
  ActionResult on(const SendCtrlAltDel&);
  ActionResult on(const FlushMetrics&);
  ActionResult on(const PatchVm& a);
  ActionResult on(const GetVmConfig&);
  ActionResult on(const PutLogger& a);
  ActionResult on(const PutMetrics& a);
  ActionResult on(const CreateSnapshot& a);
  ActionResult on(const LoadSnapshot& a);
  ActionResult on(const PutCpuConfig& a);
  ActionResult on(const PutMmds& a);
  ActionResult on(const PatchMmds& a);
  ActionResult on(const GetMmds&);
  ActionResult on(const PutMmdsConfig& a);

  // A boot-specific resource (machine, kernel, drive, interface, vsock) went into the draft: a
  // snapshot can no longer be loaded (Firecracker's rule).
  ActionResult configured(Result<void> result);
  // The VM is built or restored: start it confined, or drop it.
  ActionResult adopt(std::unique_ptr<Vm> vm, bool leave_paused, const std::string& what);
  [[nodiscard]] VmOptions vm_options() const;

  ControllerOptions options_;
  EventLoop& loop_;
  ExitSignal& exit_;
  Metrics& metrics_;
  VmFactory& factory_;
  VmConfig draft_;
  UniqueFd log_fd_;
  // Before vm_: the VM's network stacks refer to it, so it goes after the VM.
  std::unique_ptr<MmdsService> mmds_;
  std::unique_ptr<Vm> vm_;
  bool paused_ = false;
  bool boot_configured_ = false;
};

}  // namespace ember
