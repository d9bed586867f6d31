// The VMM process around the controller: the VMM thread's event loop, the termination signals,
// the queue that brings the API thread's actions to this thread, metrics, and run().
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "base/event_loop.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "vmm/controller/action.h"
#include "vmm/controller/action_queue.h"
#include "vmm/controller/controller.h"
#include "vmm/controller/vm_factory.h"
#include "vmm/metrics/api_server_stats.h"
#include "vmm/metrics/metrics.h"
#include "vmm/vm_exit.h"

namespace ember {

using VmmOptions = ControllerOptions;

class Vmm {
 public:
  // Blocks the termination signals for every thread created after it; call it before starting
  // the API server. `factory` (default: KVM) makes the microVM.
  [[nodiscard]] static Result<std::unique_ptr<Vmm>> create(const VmmOptions& options,
                                                           std::unique_ptr<VmFactory> factory = nullptr);
  ~Vmm();

  // Carries out one action on the calling (VMM) thread.
  // Times the actions Firecracker times (metrics' latencies_us, "vmm_" names).
  [[nodiscard]] ActionResult handle(const VmmAction& action);
  // What the API server calls (any thread); actions reach handle() through the event loop.
  [[nodiscard]] ActionHandler& action_handler() { return *queue_; }
  // Where the metrics read the API server's counters; it must outlive run(). Call it once the
  // socket is ready: that moment is the metrics' process start-up time.
  void attach_api_stats(std::function<ApiServerStats()> stats);
  // Serves until the microVM ends or a termination signal arrives; returns the exit status.
  [[nodiscard]] int run();

 private:
  explicit Vmm(const VmmOptions& options) : options_(options) {}

  VmmOptions options_;
  std::unique_ptr<VmFactory> factory_;
  std::optional<EventLoop> loop_;
  std::unique_ptr<ExitSignal> exit_;
  std::unique_ptr<ActionQueue> queue_;
  UniqueFd signal_fd_;
  std::function<ApiServerStats()> api_stats_;
  // Before the controller: it goes last, after the controller has stopped the VM.
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace ember
