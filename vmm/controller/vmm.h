// The VMM process: the VMM thread's event loop, and the one place actions are carried out.
// Before InstanceStart it assembles the configuration (pre-boot controller); after it, it runs
// the microVM (runtime controller). The API server and --config-file both arrive here as
// VmmActions, so they cannot disagree.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "vmm/controller/action.h"
#include "api/api_handler.h"
#include "config/vm_config.h"
#include "vmm/controller/action_queue.h"
#include "base/event_loop.h"
#include "vmm/metrics/metrics.h"
#include "base/unique_fd.h"
#include "vmm/vm.h"
#include "vmm/vm_exit.h"

namespace ember {

class ApiServer;

struct VmmOptions {
  std::string instance_id = "anonymous-instance";
  bool boot_timer = false;
  int console_out_fd = 1;
  int console_in_fd = 0;
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
};

class Vmm {
 public:
  // Blocks the termination signals for every thread created after it; call it before starting
  // the API server.
  [[nodiscard]] static Result<std::unique_ptr<Vmm>> create(const VmmOptions& options);
  ~Vmm();

  // Carries out one action on the calling (VMM) thread.
  [[nodiscard]] ApiReply handle(const VmmAction& action);
  // What the API server calls; actions reach handle() through the event loop.
  [[nodiscard]] ApiHandler& api_handler() { return *queue_; }
  // The API server whose counters the metrics report; it must outlive run(). Call it once
  // the socket is ready: that moment is the metrics' process start-up time.
  void attach_api_server(const ApiServer& server);
  // Serves until the microVM ends or a termination signal arrives; returns the exit status.
  [[nodiscard]] int run();

 private:
  explicit Vmm(const VmmOptions& options) : options_(options) {}
  ApiReply preboot(const VmmAction& action);
  ApiReply runtime(const VmmAction& action);
  ApiReply common(const VmmAction& action, bool* handled);
  ApiReply start_instance();
  ApiReply create_snapshot(const SnapshotCreateParams& params);
  ApiReply load_snapshot(const SnapshotLoadParams& params);
  ApiReply put_drive(const DriveConfig& drive);
  ApiReply put_network_interface(const NetworkInterfaceConfig& iface);
  ApiReply put_logger(const LoggerConfig& logger);
  ApiReply put_metrics(const MetricsConfig& metrics);
  ApiReply flush_metrics();

  VmmOptions options_;
  std::optional<EventLoop> loop_;
  std::unique_ptr<ExitSignal> exit_;
  std::unique_ptr<ActionQueue> queue_;
  UniqueFd signal_fd_;
  UniqueFd log_fd_;
  VmConfig config_;
  std::optional<LoggerConfig> logger_;
  std::unique_ptr<Vm> vm_;
  bool paused_ = false;
  // A boot-specific resource (machine, kernel, drive, interface, vsock) was configured: a
  // snapshot can no longer be loaded.
  bool boot_configured_ = false;
  const ApiServer* api_server_ = nullptr;
  // After the loop and the VM: goes first, taking its timer off the loop.
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace ember
