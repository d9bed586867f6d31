#include "vmm/controller/vmm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <type_traits>

#include "api/response.h"
#include "api/server.h"
#include "vmm/device_configs.h"
#include "vmm/seccomp/confined_start.h"
#include "base/errno_error.h"
#include "base/log.h"

namespace ember {
namespace {

constexpr const char* kNotBeforeStart = "this action is only allowed after InstanceStart";
constexpr const char* kNotAfterStart = "the requested operation is not supported after starting the microVM";

LogLevel to_log_level(LoggerLevel l) {
  switch (l) {
    case LoggerLevel::kError: return LogLevel::kError;
    case LoggerLevel::kWarning: return LogLevel::kWarn;
    case LoggerLevel::kInfo: return LogLevel::kInfo;
    case LoggerLevel::kDebug:
    case LoggerLevel::kTrace: return LogLevel::kDebug;
    case LoggerLevel::kOff: return LogLevel::kOff;
  }
  return LogLevel::kInfo;
}

template <class T, class V>
const T* as(const V& v) {
  return std::get_if<T>(&v);
}

}  // namespace

Result<std::unique_ptr<Vmm>> Vmm::create(const VmmOptions& options) {
  std::unique_ptr<Vmm> vmm(new Vmm(options));  // NOLINT: private constructor
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
    self->exit_->report(128 + sig, std::string("stopped by signal ") + sigabbrev_np(sig));
  }));
  TRY(vmm->loop_->add(vmm->queue_->fd(), EPOLLIN, [self](uint32_t) {
    self->queue_->drain([self](const VmmAction& a) { return self->handle(a); });
  }));

  Metrics::Sources sources;
  sources.api_server = [self]() -> std::optional<ApiServerStats> {
    if (self->api_server_ == nullptr) return std::nullopt;
    return self->api_server_->stats();
  };
  sources.vm = [self]() -> std::optional<VmCounters> {
    if (!self->vm_) return std::nullopt;
    return self->vm_->counters();
  };
  vmm->metrics_ = std::make_unique<Metrics>(*vmm->loop_, std::move(sources), options.start_time);
  return vmm;
}

void Vmm::attach_api_server(const ApiServer& server) {
  api_server_ = &server;
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
  vm_.reset();  // joins the vCPUs before the loop and exit signal go away
}

int Vmm::run() {
  while (!exit_->reported()) {
    auto r = loop_->run_once(-1);
    if (!r) exit_->report(kExitError, r.error().message);
  }
  queue_->close();
  if (vm_) vm_->stop();
  // The last line, with the vCPUs joined: nothing they counted is left out.
  if (auto flushed = metrics_->flush(); !flushed) log_warn("metrics: the final flush failed: " + flushed.error().message);
  api_server_ = nullptr;  // the caller stops the server after run()
  const int code = exit_->code();
  if (code == kExitOk) log_info("VM ended: " + exit_->reason());
  else log_error("VM ended: " + exit_->reason());
  return code;
}

ApiReply Vmm::handle(const VmmAction& action) {
  log_debug(std::string("API action ") + std::string(action_name(action)));
  bool handled = false;
  ApiReply reply = common(action, &handled);
  if (handled) return reply;
  if (vm_) return runtime(action);
  reply = preboot(action);
  const bool boot_specific = as<PutMachineConfig>(action) || as<PatchMachineConfig>(action) ||
                             as<PutBootSource>(action) || as<PutDrive>(action) ||
                             as<PutNetworkInterface>(action) || as<PutVsock>(action);
  if (boot_specific && reply.status < 300) boot_configured_ = true;
  return reply;
}

// Actions answered the same way before and after InstanceStart.
ApiReply Vmm::common(const VmmAction& action, bool* handled) {
  *handled = true;
  if (as<GetInstanceInfo>(action)) {
    InstanceInfo info;
    info.id = options_.instance_id;
    info.state = !vm_ ? InstanceState::kNotStarted : paused_ ? InstanceState::kPaused : InstanceState::kRunning;
    info.vmm_version = EMBER_VERSION;
    return reply_json(instance_info_json(info));
  }
  if (as<GetVersion>(action)) return reply_json(version_json(EMBER_VERSION));
  if (as<GetMachineConfig>(action)) return reply_json(machine_config_json(config_.machine));
  if (as<GetVmConfig>(action)) {
    FullVmConfig full;
    full.boot_source = config_.boot_source;
    full.machine = config_.machine;
    full.drives = config_.drives;
    full.vsock = config_.vsock;
    full.network_interfaces = config_.network_interfaces;
    full.logger = logger_;
    full.metrics = metrics_->config();
    return reply_json(vm_config_json(full));
  }
  *handled = false;
  return {};
}

ApiReply Vmm::preboot(const VmmAction& action) {
  if (const auto* a = as<PutMachineConfig>(action)) {
    auto ok = validate_machine_config(a->config, host_memory_bytes());
    if (!ok) return reply_error(ok.error().message);
    config_.machine = a->config;
    return reply_no_content();
  }
  if (const auto* a = as<PatchMachineConfig>(action)) {
    MachineConfig m = config_.machine;
    if (a->vcpu_count) m.vcpu_count = *a->vcpu_count;
    if (a->mem_size_mib) m.mem_size_mib = *a->mem_size_mib;
    if (a->smt) m.smt = *a->smt;
    if (a->track_dirty_pages) m.track_dirty_pages = *a->track_dirty_pages;
    auto ok = validate_machine_config(m, host_memory_bytes());
    if (!ok) return reply_error(ok.error().message);
    config_.machine = m;
    return reply_no_content();
  }
  if (const auto* a = as<PutBootSource>(action)) {
    if (::access(a->config.kernel_image_path.c_str(), R_OK) != 0)
      return reply_error("boot-source.kernel_image_path: cannot read " + a->config.kernel_image_path +
                         ": " + std::strerror(errno));
    if (a->config.initrd_path && ::access(a->config.initrd_path->c_str(), R_OK) != 0)
      return reply_error("boot-source.initrd_path: cannot read " + *a->config.initrd_path + ": " +
                         std::strerror(errno));
    config_.boot_source = a->config;
    return reply_no_content();
  }
  if (const auto* a = as<PutDrive>(action)) return put_drive(a->config);
  if (const auto* a = as<PutNetworkInterface>(action)) return put_network_interface(a->config);
  if (as<PatchNetworkInterface>(action)) return reply_error(kNotBeforeStart);
  if (const auto* a = as<PutVsock>(action)) {
    auto ok = VirtioVsock::check_config(vsock_device_config(a->config));
    if (!ok) return reply_error("vsock: " + ok.error().message);
    config_.vsock = a->config;
    return reply_no_content();
  }
  if (const auto* a = as<PutLogger>(action)) return put_logger(a->config);
  if (const auto* a = as<PutMetrics>(action)) return put_metrics(a->config);
  if (as<InstanceStart>(action)) return start_instance();
  if (const auto* a = as<LoadSnapshot>(action)) return load_snapshot(a->params);
  if (as<CreateSnapshot>(action)) return reply_error("snapshot/create: there is no microVM yet (InstanceStart or snapshot/load first)");
  if (as<PatchDrive>(action) || as<PatchVm>(action) || as<SendCtrlAltDel>(action) || as<FlushMetrics>(action))
    return reply_error(kNotBeforeStart);
  return reply_error(std::string(action_name(action)) + " is not supported");
}

ApiReply Vmm::runtime(const VmmAction& action) {
  if (const auto* a = as<CreateSnapshot>(action)) return create_snapshot(a->params);
  if (as<LoadSnapshot>(action))
    return reply_error("snapshot/load: a snapshot can only be loaded into a fresh ember, before InstanceStart");
  if (as<FlushMetrics>(action)) return flush_metrics();
  if (const auto* a = as<PatchVm>(action)) {
    if (a->state == RequestedVmState::kPaused) {
      if (!paused_) vm_->pause();
      paused_ = true;
      log_info("VM paused");
    } else {
      if (paused_) vm_->resume();
      paused_ = false;
      log_info("VM resumed");
    }
    return reply_no_content();
  }
  if (as<SendCtrlAltDel>(action)) {
    auto r = vm_->send_ctrl_alt_del();
    if (!r) return reply_error("SendCtrlAltDel: " + r.error().message);
    return reply_no_content();
  }
  if (const auto* a = as<PatchDrive>(action)) {
    auto r = vm_->update_drive(a->drive_id, a->path_on_host, a->rate_limiter);
    if (!r) return reply_error("drive " + a->drive_id + ": " + r.error().message);
    for (auto& d : config_.drives) {
      if (d.drive_id != a->drive_id) continue;
      if (a->path_on_host) d.path_on_host = *a->path_on_host;
      if (a->rate_limiter) d.rate_limiter = a->rate_limiter;
    }
    return reply_no_content();
  }
  if (const auto* a = as<PatchNetworkInterface>(action)) {
    auto r = vm_->update_net_rate_limiters(a->iface_id, a->rx_rate_limiter, a->tx_rate_limiter);
    if (!r) return reply_error(r.error().message);
    for (auto& iface : config_.network_interfaces) {
      if (iface.iface_id != a->iface_id) continue;
      if (a->rx_rate_limiter) iface.rx_rate_limiter = a->rx_rate_limiter;
      if (a->tx_rate_limiter) iface.tx_rate_limiter = a->tx_rate_limiter;
    }
    return reply_no_content();
  }
  return reply_error(kNotAfterStart);
}

ApiReply Vmm::put_drive(const DriveConfig& drive) {
  const int mode = drive.is_read_only ? R_OK : (R_OK | W_OK);
  if (::access(drive.path_on_host.c_str(), mode) != 0)
    return reply_error("drive " + drive.drive_id + ": cannot open " + drive.path_on_host + ": " +
                       std::strerror(errno));
  std::vector<DriveConfig> drives = config_.drives;
  bool replaced = false;
  for (auto& d : drives) {
    if (d.drive_id == drive.drive_id) {
      d = drive;
      replaced = true;
    }
  }
  if (!replaced) drives.push_back(drive);
  int roots = 0;
  for (const auto& d : drives) roots += d.is_root_device ? 1 : 0;
  if (roots > 1) return reply_error("drive " + drive.drive_id + ": a root device is already configured");
  config_.drives = std::move(drives);
  return reply_no_content();
}

ApiReply Vmm::put_network_interface(const NetworkInterfaceConfig& iface) {
  auto ok = VirtioNet::check_config(net_device_config(iface));
  if (!ok) return reply_error("network interface " + iface.iface_id + ": " + ok.error().message);
  std::vector<NetworkInterfaceConfig> ifaces;
  for (const auto& other : config_.network_interfaces) {
    if (other.iface_id == iface.iface_id) continue;  // replaced below
    if (other.host_dev_name == iface.host_dev_name)
      return reply_error("network interface " + iface.iface_id + ": tap " + iface.host_dev_name +
                         " is already used by " + other.iface_id);
    if (other.guest_mac && iface.guest_mac && *other.guest_mac == *iface.guest_mac)
      return reply_error("network interface " + iface.iface_id + ": guest_mac is already used by " + other.iface_id);
    ifaces.push_back(other);
  }
  ifaces.push_back(iface);
  config_.network_interfaces = std::move(ifaces);
  return reply_no_content();
}

ApiReply Vmm::put_logger(const LoggerConfig& logger) {
  if (logger.log_path) {
    UniqueFd fd(::open(logger.log_path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600));
    if (!fd.valid())
      return reply_error("logger.log_path: cannot open " + *logger.log_path + ": " + std::strerror(errno));
    log_set_fd(fd.get());
    log_fd_ = std::move(fd);
  }
  if (logger.level) log_configure(options_.instance_id, to_log_level(*logger.level));
  logger_ = logger;
  return reply_no_content();
}

ApiReply Vmm::put_metrics(const MetricsConfig& metrics) {
  auto configured = metrics_->configure(metrics);
  if (!configured) return reply_error(configured.error().message);
  return reply_no_content();
}

ApiReply Vmm::flush_metrics() {
  auto flushed = metrics_->flush();
  if (!flushed) return reply_error("FlushMetrics: " + flushed.error().message);
  return reply_no_content();
}

ApiReply Vmm::create_snapshot(const SnapshotCreateParams& params) {
  if (!paused_) return reply_error("snapshot/create: the microVM must be paused first (PATCH /vm {\"state\": \"Paused\"})");
  const auto started = std::chrono::steady_clock::now();
  auto r = vm_->create_snapshot(params);
  if (!r) return reply_error("snapshot/create: " + r.error().message);
  log_info("snapshot written to " + params.snapshot_path + " and " + params.mem_file_path + " in " +
           std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count()) +
           " us");
  return reply_no_content();
}

ApiReply Vmm::load_snapshot(const SnapshotLoadParams& params) {
  // As Firecracker: a snapshot brings its own machine and devices.
  if (boot_configured_)
    return reply_error("snapshot/load: loading a snapshot is not allowed after configuring boot-specific resources");
  VmOptions opts;
  opts.console_out_fd = options_.console_out_fd;
  opts.console_in_fd = options_.console_in_fd;
  opts.start_time = options_.start_time;
  VmConfig restored;
  auto vm = restore_vm(params, opts, *loop_, *exit_, &restored);
  if (!vm) return reply_error("snapshot/load: " + vm.error().message);
  vm_ = std::move(vm).value();
  config_ = std::move(restored);
  if (auto confined = seccomp::start_vm_confined(*vm_, /*leave_paused=*/!params.resume_vm); !confined) {
    vm_->stop();
    vm_.reset();
    return reply_error("snapshot/load: " + confined.error().message);
  }
  paused_ = !params.resume_vm;
  log_info(params.resume_vm ? "VM restored and resumed" : "VM restored, paused");
  return reply_no_content();
}

ApiReply Vmm::start_instance() {
  if (!config_.boot_source) return reply_error("InstanceStart: no boot-source is configured");
  VmOptions opts;
  opts.config = config_;
  opts.boot_timer = options_.boot_timer;
  opts.console_out_fd = options_.console_out_fd;
  opts.console_in_fd = options_.console_in_fd;
  opts.start_time = options_.start_time;
  auto vm = build_vm(opts, *loop_, *exit_);
  if (!vm) return reply_error("InstanceStart: " + vm.error().message);
  vm_ = std::move(vm).value();
  // From here on the VMM thread runs under its seccomp filter; no guest code runs before.
  if (auto confined = seccomp::start_vm_confined(*vm_); !confined) {
    vm_->stop();
    vm_.reset();
    return reply_error("InstanceStart: " + confined.error().message);
  }
  log_info("VM started");
  return reply_no_content();
}

}  // namespace ember
