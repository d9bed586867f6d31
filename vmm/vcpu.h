// One vCPU thread running KVM_RUN and dispatching port-I/O and MMIO exits to the buses.
#pragma once

#include <pthread.h>

#include <atomic>
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

 private:
  void run_loop();
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
};

}  // namespace ember
