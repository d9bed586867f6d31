#include "vmm/vcpu.h"

#include <csignal>
#include <ctime>
#include <cstring>
#include <string>

#include "vmm/seccomp/thread_filters.h"
#include "base/hex.h"
#include "base/log.h"

namespace ember {
namespace {

void on_kick(int) {}

// Only the vCPU's own thread bumps its counters; readers take relaxed snapshots.
void bump(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

uint64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

void Vcpu::AtomicLatency::record(uint64_t us) {
  const uint64_t min = min_us.load(std::memory_order_relaxed);
  if (min == 0 || us < min) min_us.store(us, std::memory_order_relaxed);
  if (us > max_us.load(std::memory_order_relaxed)) max_us.store(us, std::memory_order_relaxed);
  sum_us.fetch_add(us, std::memory_order_relaxed);
}

LatencyAgg Vcpu::AtomicLatency::get() const {
  return {min_us.load(std::memory_order_relaxed), max_us.load(std::memory_order_relaxed),
          sum_us.load(std::memory_order_relaxed)};
}

Vcpu::Vcpu(VcpuFd fd, const Bus& pio, const Bus& mmio, ExitSignal& exit, std::string thread_name)
    : fd_(std::move(fd)), thread_name_(std::move(thread_name)), pio_(pio), mmio_(mmio), exit_(exit) {}

int Vcpu::kick_signal() { return SIGRTMIN; }

Vcpu::~Vcpu() {
  request_stop();
  join();
}

void Vcpu::install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
  sigaction(kick_signal(), &sa, nullptr);
}

void Vcpu::start() {
  // Kata finds the vCPU threads by name (/proc/<pid>/task/*/comm) as soon as InstanceStart has
  // answered: the thread names itself before start() returns.
  std::latch named(1);
  thread_ = std::thread([this, &named] { run_loop(named); });
  named.wait();
}

void Vcpu::kick() {
  // immediate_exit covers the window between the checks and entering KVM_RUN; the signal
  // covers a vCPU already inside it.
  fd_.run_area()->immediate_exit = 1;
  if (running_.load(std::memory_order_acquire)) pthread_kill(native_.load(), kick_signal());
}

void Vcpu::request_stop() {
  stop_.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> g(pause_lock_);
  }
  pause_cv_.notify_all();
  kick();
}

void Vcpu::pause() {
  std::unique_lock<std::mutex> g(pause_lock_);
  pause_requested_ = true;
  if (!thread_.joinable()) return;  // never started: nothing runs
  kick();
  pause_cv_.wait(g, [this] { return parked_ || ended_; });
}

void Vcpu::resume() {
  {
    std::lock_guard<std::mutex> g(pause_lock_);
    pause_requested_ = false;
  }
  pause_cv_.notify_all();
}

bool Vcpu::wait_while_paused() {
  std::unique_lock<std::mutex> g(pause_lock_);
  if (!pause_requested_) {
    if (stop_.load(std::memory_order_acquire)) return false;
    // A pause that is requested later sets this again (under pause_lock_) before its kick.
    fd_.run_area()->immediate_exit = 0;
    return true;
  }
  parked_ = true;
  pause_cv_.notify_all();
  pause_cv_.wait(g, [this] { return !pause_requested_ || stop_.load(std::memory_order_acquire); });
  parked_ = false;
  // The kick that parked us left immediate_exit set; clear it so KVM_RUN enters the guest.
  if (!stop_.load(std::memory_order_acquire)) fd_.run_area()->immediate_exit = 0;
  return !stop_.load(std::memory_order_acquire);
}

void Vcpu::join() {
  if (thread_.joinable()) thread_.join();
}

void Vcpu::run_loop(std::latch& named) {
  log_set_thread_name("vcpu" + std::to_string(fd_.id()));
  // The kernel's name for the thread (/proc/<pid>/task/<tid>/comm; 15 characters at most).
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  named.count_down();  // start() returns; `named` is gone after this
  // Confined before its first KVM_RUN, that is before any guest-controlled exit is handled.
  const auto confined = seccomp::install_thread_filter(seccomp::ThreadKind::kVcpu);
  if (!confined) exit_.report(kExitError, "vCPU " + std::to_string(fd_.id()) + ": " + confined.error().message);
  native_.store(pthread_self());
  running_.store(true, std::memory_order_release);
  while (confined.ok() && wait_while_paused()) {
    int r = fd_.run();
    if (r == -EINTR || r == -EAGAIN) {
      // EINTR: kicked. EAGAIN: an AP woke from wait-for-SIPI without being started yet.
      continue;
    }
    if (r < 0) {
      bump(exits_.failures);
      exit_.report(kExitError, "vCPU " + std::to_string(fd_.id()) + ": KVM_RUN failed: " +
                                   std::strerror(-r));
      break;
    }
    if (!handle_exit()) break;
  }
  running_.store(false, std::memory_order_release);
  {
    std::lock_guard<std::mutex> g(pause_lock_);
    ended_ = true;
  }
  pause_cv_.notify_all();
}

VcpuExitCounters Vcpu::exit_counters() const {
  const auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  VcpuExitCounters out;
  out.io_in = get(exits_.io_in);
  out.io_out = get(exits_.io_out);
  out.mmio_read = get(exits_.mmio_read);
  out.mmio_write = get(exits_.mmio_write);
  out.hlt = get(exits_.hlt);
  out.shutdown = get(exits_.shutdown);
  out.system_event = get(exits_.system_event);
  out.internal_error = get(exits_.internal_error);
  out.fail_entry = get(exits_.fail_entry);
  out.other = get(exits_.other);
  out.failures = get(exits_.failures);
  out.kvmclock_ctrl_fails = get(exits_.kvmclock_ctrl_fails);
  out.io_in_agg = exits_.io_in_agg.get();
  out.io_out_agg = exits_.io_out_agg.get();
  out.mmio_read_agg = exits_.mmio_read_agg.get();
  out.mmio_write_agg = exits_.mmio_write_agg.get();
  return out;
}

void Vcpu::handle_io(kvm_run* run) {
  auto* base = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
  const uint64_t size = run->io.size;
  // A string instruction (rep ins/outs) arrives as `count` accesses back to back.
  for (uint32_t i = 0; i < run->io.count; ++i) {
    std::span<uint8_t> data(base + i * size, size);
    if (run->io.direction == KVM_EXIT_IO_OUT) {
      (void)pio_.write(run->io.port, data);
    } else if (!pio_.read(run->io.port, data)) {
      std::memset(data.data(), 0xff, data.size());  // an empty ISA bus floats high
    }
  }
}

void Vcpu::handle_mmio(kvm_run* run) {
  const uint32_t len = std::min<uint32_t>(run->mmio.len, sizeof(run->mmio.data));
  std::span<uint8_t> data(run->mmio.data, len);
  if (run->mmio.is_write) {
    if (!mmio_.write(run->mmio.phys_addr, data))
      log_debug("unhandled MMIO write at " + to_hex(run->mmio.phys_addr));
  } else if (!mmio_.read(run->mmio.phys_addr, data)) {
    std::memset(data.data(), 0xff, data.size());
    log_debug("unhandled MMIO read at " + to_hex(run->mmio.phys_addr));
  }
}

bool Vcpu::handle_exit() {
  kvm_run* run = fd_.run_area();
  const std::string who = "vCPU " + std::to_string(fd_.id());
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      // Firecracker's exit_*_agg: the time the bus took to handle the exit.
      const bool out = run->io.direction == KVM_EXIT_IO_OUT;
      const uint64_t start = monotonic_us();
      handle_io(run);
      (out ? exits_.io_out_agg : exits_.io_in_agg).record(monotonic_us() - start);
      bump(out ? exits_.io_out : exits_.io_in);
      return true;
    }
    case KVM_EXIT_MMIO: {
      const bool write = run->mmio.is_write != 0;
      const uint64_t start = monotonic_us();
      handle_mmio(run);
      (write ? exits_.mmio_write_agg : exits_.mmio_read_agg).record(monotonic_us() - start);
      bump(write ? exits_.mmio_write : exits_.mmio_read);
      return true;
    }
    // From here on, as Firecracker counts vcpu.failures: every exit but port and MMIO accesses
    // and a reset/shutdown system event is one the VMM did not expect.
    case KVM_EXIT_HLT:
      bump(exits_.hlt);
      bump(exits_.failures);
      // Only without an in-kernel LAPIC; ours has one, so this is a vCPU that halted for good.
      exit_.report(kExitOk, who + " halted");
      return false;
    case KVM_EXIT_SHUTDOWN: {
      bump(exits_.shutdown);
      bump(exits_.failures);
      auto regs = fd_.get_regs();
      exit_.report(kExitGuestFault, who + ": the guest triple-faulted (KVM_EXIT_SHUTDOWN) at rip " +
                                        (regs ? to_hex(regs->rip) : std::string("?")));
      return false;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      bump(exits_.system_event);
      if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
        exit_.report(kExitOk, "guest requested a reset");
      else if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
        exit_.report(kExitOk, "guest requested shutdown");
      else {
        bump(exits_.failures);
        exit_.report(kExitGuestFault, who + ": system event " + std::to_string(run->system_event.type));
      }
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      bump(exits_.fail_entry);
      bump(exits_.failures);
      exit_.report(kExitGuestFault, who + ": KVM_EXIT_FAIL_ENTRY, hardware reason " +
                                        to_hex(run->fail_entry.hardware_entry_failure_reason));
      return false;
    case KVM_EXIT_INTERNAL_ERROR: {
      bump(exits_.internal_error);
      bump(exits_.failures);
      auto regs = fd_.get_regs();
      std::string detail = who + ": KVM_EXIT_INTERNAL_ERROR suberror " +
                           std::to_string(run->internal.suberror);
      if (regs) detail += " at rip " + to_hex(regs->rip);
      exit_.report(kExitGuestFault, detail);
      return false;
    }
    default:
      bump(exits_.other);
      bump(exits_.failures);
      exit_.report(kExitGuestFault, who + ": unexpected KVM exit reason " +
                                        std::to_string(run->exit_reason));
      return false;
  }
}

}  // namespace ember
