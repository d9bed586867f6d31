// A built microVM: KVM objects, guest memory, devices on their buses, vCPU threads. The VMM
// thread's event loop and the exit signal belong to the caller (the controller), which
// outlives the VM.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/vm_config.h"
#include "vmm/metrics/vm_counters.h"
#include "base/result.h"

namespace ember {

class EventLoop;
class ExitSignal;
class MmdsService;

struct VmOptions {
  VmConfig config;
  bool boot_timer = false;
  int console_out_fd = 1;
  int console_in_fd = 0;  // -1: no console input
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
  // vCPU n's thread is named <vcpu_thread_prefix><n> ("fc_vcpu " when ember runs as
  // firecracker, as Firecracker names them; see ember/main.cc).
  std::string vcpu_thread_prefix = "ember_vcpu";
  // The metadata service the interfaces named in config.mmds answer from; it outlives the VM.
  // Null: no interface answers it (a config that names some is then refused).
  MmdsService* mmds = nullptr;
};

class Vm {
 public:
  virtual ~Vm() = default;
  // Starts the vCPUs and puts the console on the event loop.
  virtual void start() = 0;
  // Parks every vCPU outside the guest and holds back device queue processing; resume()
  // undoes it.
  virtual void pause() = 0;
  virtual void resume() = 0;
  [[nodiscard]] virtual Result<void> send_ctrl_alt_del() = 0;
  // PATCH /drives/{id}: a new backing file and/or new rate limits.
  [[nodiscard]] virtual Result<void> update_drive(const std::string& drive_id,
                                                  const std::optional<std::string>& path_on_host,
                                                  const std::optional<RateLimiterConfig>& rate_limiter) = 0;
  // PATCH /network-interfaces/{id}: a limiter absent from the request is left alone.
  [[nodiscard]] virtual Result<void> update_net_rate_limiters(const std::string& iface_id,
                                                              const std::optional<RateLimiterConfig>& rx,
                                                              const std::optional<RateLimiterConfig>& tx) = 0;
  // Stops and joins the vCPUs and gives the terminal back; the VM cannot run again.
  virtual void stop() = 0;
  // PUT /snapshot/create, on a paused VM: the state file and the memory file (Full: all of
  // it; Diff: the pages written since the previous snapshot, which needs track_dirty_pages).
  // Both files are written atomically; on error the VM is unchanged and stays paused.
  [[nodiscard]] virtual Result<void> create_snapshot(const SnapshotCreateParams& params) = 0;
  // The configuration the VM runs with, PATCHes included (what a snapshot carries and GET
  // /vm/config shows).
  [[nodiscard]] virtual const VmConfig& config() const = 0;
  // What the vCPUs and virtio devices have counted so far, for metrics. Any thread; still
  // answers after stop().
  [[nodiscard]] virtual VmCounters counters() const = 0;
};

// Builds everything up to (not including) the first KVM_RUN. `loop` and `exit` must outlive
// the VM.
[[nodiscard]] Result<std::unique_ptr<Vm>> build_vm(const VmOptions& options, EventLoop& loop,
                                                   ExitSignal& exit);

// PUT /snapshot/load: rebuilds the VM a snapshot was taken of (its configuration with the
// request's overrides), maps the memory file privately and puts every vCPU and device back in
// its saved state; not started. `options.config` is ignored: the configuration the VM got is
// its Vm::config().
[[nodiscard]] Result<std::unique_ptr<Vm>> restore_vm(const SnapshotLoadParams& params, const VmOptions& options,
                                                     EventLoop& loop, ExitSignal& exit);

}  // namespace ember
