// One vCPU thread running KVM_RUN and dispatching port-I/O and MMIO exits to the buses.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "vmm/bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/vm_exit.h"

namespace ember {

class Vcpu {
 public:
  Vcpu(VcpuFd fd, const Bus& pio, const Bus& mmio, ExitSignal& exit);
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();  // stops and joins the thread

  [[nodiscard]] const VcpuFd& fd() const { return fd_; }
  // Installs the kick signal's handler; call once per process before starting vCPUs.
  static void install_kick_handler();
  void start();
  // Makes KVM_RUN return (or not start) and ends the thread's loop; does not wait.
  void request_stop();
  void join();
  // Parks the thread outside KVM_RUN and returns once it is parked (or has ended), so the
  // vCPU's state can be read and the guest makes no progress. resume() lets it run again.
  void pause();
  void resume();

 private:
  void run_loop();
  // Parks here while a pause is requested; returns false when the thread must end.
  bool wait_while_paused();
  void kick();
  // Returns false when the VM must stop.
  bool handle_exit();
  void handle_io(kvm_run* run);
  void handle_mmio(kvm_run* run);

  VcpuFd fd_;
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
};

}  // namespace ember
