#include "vmm/controller/vmm.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "base/errno_error.h"
#include "base/log.h"
#include "vmm/metrics/api_request_metrics.h"

namespace ember {

Result<std::unique_ptr<Vmm>> Vmm::create(const VmmOptions& options, std::unique_ptr<VmFactory> factory) {
  std::unique_ptr<Vmm> vmm(new Vmm(options));  // NOLINT: private constructor
  vmm->factory_ = factory ? std::move(factory) : make_kvm_vm_factory();
  ASSIGN_OR_RETURN(vmm->loop_, EventLoop::create());
  ASSIGN_OR_RETURN(vmm->exit_, ExitSignal::create());
  ASSIGN_OR_RETURN(EventFd wakeup, EventFd::create());
  vmm->queue_ = std::make_unique<ActionQueue>(std::move(wakeup));

  // Termination signals become an orderly stop (vCPUs joined, terminal restored). They are
  // blocked before any other thread exists, so only the signalfd ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  vmm->signal_fd_.reset(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!vmm->signal_fd_.valid()) return errno_error("signalfd");

  Vmm* self = vmm.get();
  TRY(vmm->loop_->add(vmm->exit_->fd(), EPOLLIN, [](uint32_t) {}));
  TRY(vmm->loop_->add(vmm->signal_fd_.get(), EPOLLIN, [self](uint32_t) {
    signalfd_siginfo info{};
    if (::read(self->signal_fd_.get(), &info, sizeof info) != sizeof info) return;
    const int sig = static_cast<int>(info.ssi_signo);
    self->metrics_->count_signal(sig);
    self->exit_->report(128 + sig, std::string("stopped by signal ") + sigabbrev_np(sig));
  }));
  TRY(vmm->loop_->add(vmm->queue_->fd(), EPOLLIN, [self](uint32_t) {
    self->queue_->drain([self](const VmmAction& a) { return self->handle(a); });
  }));

  Metrics::Sources sources;
  sources.api_server = [self]() -> std::optional<ApiServerStats> {
    if (!self->api_stats_) return std::nullopt;
    return self->api_stats_();
  };
  sources.vm = [self]() -> std::optional<VmCounters> {
    const Vm* vm = self->controller_ ? self->controller_->vm() : nullptr;
    if (vm == nullptr) return std::nullopt;
    return vm->counters();
  };
  sources.mmds = [self]() -> std::optional<MmdsCounters> {
    if (!self->controller_) return std::nullopt;
    return self->controller_->mmds().counters();
  };
  vmm->metrics_ = std::make_unique<Metrics>(*vmm->loop_, std::move(sources), options.start_time);
  vmm->controller_ = std::make_unique<Controller>(options, *vmm->loop_, *vmm->exit_, *vmm->metrics_, *vmm->factory_);
  return vmm;
}

ActionResult Vmm::handle(const VmmAction& action) {
  const auto name = timed_action_name(action);
  const auto started = std::chrono::steady_clock::now();
  ActionResult result = controller_->handle(action);
  // As Firecracker: the VMM's time for a pause, resume, snapshot create or load that succeeded.
  if (name && result.ok())
    metrics_->record_vmm_latency("vmm_" + std::string(*name), std::chrono::duration_cast<std::chrono::microseconds>(
                                                                   std::chrono::steady_clock::now() - started));
  return result;
}

void Vmm::attach_api_stats(std::function<ApiServerStats()> stats) {
  api_stats_ = std::move(stats);
  const auto wall = std::chrono::steady_clock::now() - options_.start_time;
  // CLOCK_PROCESS_CPUTIME_ID counts from exec: the CPU the process spent getting here.
  timespec cpu{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  metrics_->set_startup_time(std::chrono::duration_cast<std::chrono::microseconds>(wall),
                             std::chrono::seconds(cpu.tv_sec) +
                                 std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::nanoseconds(cpu.tv_nsec)));
}

Vmm::~Vmm() {
  if (queue_) queue_->close();
  controller_.reset();  // joins the vCPUs before the metrics, loop and exit signal go away
}

int Vmm::run() {
  while (!exit_->reported()) {
    auto r = loop_->run_once(-1);
    if (!r) exit_->report(kExitError, r.error().message);
  }
  queue_->close();
  if (Vm* vm = controller_->vm()) vm->stop();
  // The last line, with the vCPUs joined: nothing they counted is left out.
  if (auto flushed = metrics_->flush(); !flushed) log_warn("metrics: the final flush failed: " + flushed.error().message);
  api_stats_ = nullptr;  // the caller stops the server after run()
  const int code = exit_->code();
  if (code == kExitOk) log_info("VM ended: " + exit_->reason());
  else log_error("VM ended: " + exit_->reason());
  return code;
}

}  // namespace ember
