// One vCPU thread running KVM_RUN and dispatching port-I/O and MMIO exits to the buses.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <string>
#include <thread>

#include "vmm/bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/metrics/vm_counters.h"
#include "vmm/vm_exit.h"

namespace ember {

class Vcpu {
 public:
  // `thread_name` is the kernel's name for the thread (/proc/<pid>/task/<tid>/comm, at most 15
  // characters): clients find vCPU threads by it (Kata Containers pins `fc_vcpu <n>`).
  Vcpu(VcpuFd fd, const Bus& pio, const Bus& mmio, ExitSignal& exit, std::string thread_name);
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();  // stops and joins the thread

  [[nodiscard]] const VcpuFd& fd() const { return fd_; }
  // Installs the kick signal's handler; call once per process before starting vCPUs.
  static void install_kick_handler();
  // The signal that kicks a vCPU thread out of KVM_RUN (the VMM thread's seccomp filter lets it
  // send this one only).
  [[nodiscard]] static int kick_signal();
  void start();
  // Makes KVM_RUN return (or not start) and ends the thread's loop; does not wait.
  void request_stop();
  void join();
  // Parks the thread outside KVM_RUN and returns once it is parked (or has ended), so the
  // vCPU's state can be read and the guest makes no progress. resume() lets it run again.
  void pause();
  void resume();
  // This vCPU's exits so far; any thread (relaxed atomic reads, so a copy taken while the
  // vCPU runs may be a few exits behind).
  [[nodiscard]] VcpuExitCounters exit_counters() const;
  // A KVM_KVMCLOCK_CTRL for this vCPU failed (the VMM thread calls it at a pause).
  void count_kvmclock_ctrl_failure() { exits_.kvmclock_ctrl_fails.fetch_add(1, std::memory_order_relaxed); }

 private:
  // Written only by the vCPU's own thread (min and max are plain stores for that reason); read
  // by the metrics writer.
  struct AtomicLatency {
    std::atomic<uint64_t> min_us{0}, max_us{0}, sum_us{0};
    void record(uint64_t us);
    [[nodiscard]] LatencyAgg get() const;
  };
  // Bumped only by the vCPU's own thread (kvmclock_ctrl_fails: by the VMM thread); read by the
  // metrics writer.
  struct ExitCounters {
    std::atomic<uint64_t> io_in{0}, io_out{0}, mmio_read{0}, mmio_write{0}, hlt{0}, shutdown{0},
        system_event{0}, internal_error{0}, fail_entry{0}, other{0}, failures{0}, kvmclock_ctrl_fails{0};
    AtomicLatency io_in_agg, io_out_agg, mmio_read_agg, mmio_write_agg;
  };

  // `named` is counted down once the thread carries its name.
  void run_loop(std::latch& named);
  // Parks here while a pause is requested; returns false when the thread must end.
  bool wait_while_paused();
  void kick();
  // Returns false when the VM must stop.
  bool handle_exit();
  void handle_io(kvm_run* run);
  void handle_mmio(kvm_run* run);

  VcpuFd fd_;
  const std::string thread_name_;
  const Bus& pio_;
  const Bus& mmio_;
  ExitSignal& exit_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<pthread_t> native_{};
  std::atomic<bool> running_{false};

  std::mutex pause_lock_;
  std::condition_variable pause_cv_;
  bool pause_requested_ = false;  // guarded by pause_lock_
  bool parked_ = false;           // guarded by pause_lock_
  bool ended_ = false;            // guarded by pause_lock_

  ExitCounters exits_;
};

}  // namespace ember
