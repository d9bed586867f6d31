#include "vmm/controller/controller.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/vsock/virtio_vsock.h"
#include "vmm/device_configs.h"

namespace ember {
namespace {

// Firecracker's VmmActionError::OperationNotSupportedPreBoot and ...PostBoot, word for word:
// its clients and tests match them.
constexpr const char* kNotBeforeStart = "The requested operation is not supported before starting the microVM.";
constexpr const char* kNotAfterStart = "The requested operation is not supported after starting the microVM.";

ActionResult done() { return ActionOutput{}; }

Error not_before_start() { return make_error(ErrorKind::kState, kNotBeforeStart); }
Error not_after_start() { return make_error(ErrorKind::kState, kNotAfterStart); }

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

// "06:00:00:00:00:01", as Firecracker prints a MacAddr.
std::string format_mac(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

// An errno as Rust's io::Error prints it: "No such file or directory (os error 2)".
std::string os_error(int err) { return std::string(std::strerror(err)) + " (os error " + std::to_string(err) + ")"; }

// access(2) as a Result: `fault` (Firecracker's words), the errno, then `detail`.
Result<void> check_access(const std::string& path, int mode, const std::string& fault, const std::string& detail) {
  if (::access(path.c_str(), mode) == 0) return {};
  return make_error(ErrorKind::kHost, fault + os_error(errno) + detail);
}

}  // namespace

Controller::Controller(const ControllerOptions& options, EventLoop& loop, ExitSignal& exit, Metrics& metrics,
                       VmFactory& factory)
    : options_(options),
      loop_(loop),
      exit_(exit),
      metrics_(metrics),
      factory_(factory),
      mmds_(std::make_unique<MmdsService>(options.mmds_size_limit)) {}

Controller::~Controller() {
  if (vm_) vm_->stop();
}

ActionResult Controller::handle(const VmmAction& action) {
  log_debug(std::string("API action ") + std::string(action_name(action)));
  // No generic overload of on(): every alternative of VmmAction needs its own, or this fails
  // to compile.
  return std::visit([this](const auto& a) { return on(a); }, action);
}

ActionResult Controller::configured(Result<void> result) {
  if (!result) return result.error();
  boot_configured_ = true;
  return done();
}

VmOptions Controller::vm_options() const {
  VmOptions opts;
  opts.boot_timer = options_.boot_timer;
  opts.console_out_fd = options_.console_out_fd;
  opts.console_in_fd = options_.console_in_fd;
  opts.start_time = options_.start_time;
  opts.vcpu_thread_prefix = options_.vcpu_thread_prefix;
  opts.mmds = mmds_.get();
  return opts;
}

ActionResult Controller::adopt(std::unique_ptr<Vm> vm, bool leave_paused, const std::string& what) {
  // From here on the VMM thread runs under its seccomp filter; no guest code runs before.
  if (auto confined = factory_.start(*vm, leave_paused); !confined) {
    vm->stop();
    return with_context(what, confined.error());
  }
  vm_ = std::move(vm);
  paused_ = leave_paused;
  return done();
}

// --- Answered the same way before and after InstanceStart.

ActionResult Controller::on(const GetInstanceInfo&) {
  InstanceInfo info;
  info.id = options_.instance_id;
  info.state = !vm_ ? InstanceState::kNotStarted : paused_ ? InstanceState::kPaused : InstanceState::kRunning;
  info.vmm_version = EMBER_VERSION;
  return ActionOutput{std::move(info)};
}

ActionResult Controller::on(const GetVersion&) { return ActionOutput{VmmVersion{EMBER_VERSION}}; }

ActionResult Controller::on(const GetMachineConfig&) { return ActionOutput{config().machine}; }

ActionResult Controller::on(const GetVmConfig&) {
  const VmConfig& c = config();
  FullVmConfig full;
  full.boot_source = c.boot_source;
  full.machine = c.machine;
  full.drives = c.drives;
  full.vsock = c.vsock;
  full.network_interfaces = c.network_interfaces;
  full.mmds = c.mmds;
  return ActionOutput{std::move(full)};
}

// --- The configuration: before InstanceStart only.

ActionResult Controller::on(const PutMachineConfig& a) {
  if (started()) return not_after_start();
  MachineConfig m = a.config;
  m.cpu_template = a.cpu_template.value_or(draft_.machine.cpu_template);
  auto ok = validate_machine_config(m, host_memory_bytes());
  if (ok) {
    draft_.machine = m;
    if (a.cpu_template) draft_.cpu_config.reset();  // one template slot (Firecracker)
  }
  return configured(ok);
}

ActionResult Controller::on(const PatchMachineConfig& a) {
  if (started()) return not_after_start();
  MachineConfig m = draft_.machine;
  if (a.vcpu_count) m.vcpu_count = *a.vcpu_count;
  if (a.mem_size_mib) m.mem_size_mib = *a.mem_size_mib;
  if (a.smt) m.smt = *a.smt;
  if (a.track_dirty_pages) m.track_dirty_pages = *a.track_dirty_pages;
  if (a.cpu_template) m.cpu_template = *a.cpu_template;
  auto ok = validate_machine_config(m, host_memory_bytes());
  if (ok) {
    draft_.machine = m;
    if (a.cpu_template) draft_.cpu_config.reset();  // one template slot (Firecracker)
  }
  return configured(ok);
}

ActionResult Controller::on(const PutBootSource& a) {
  if (started()) return not_after_start();
  const BootSourceConfig& b = a.config;
  // Firecracker's BootSourceConfigError texts.
  auto ok = check_access(b.kernel_image_path, R_OK, "Boot source error: The kernel file cannot be opened: ",
                         " (boot-source.kernel_image_path: " + b.kernel_image_path + ")");
  if (ok && b.initrd_path)
    ok = check_access(*b.initrd_path, R_OK,
                      "Boot source error: The initrd file cannot be opened due to invalid path or invalid "
                      "permissions. ",
                      " (boot-source.initrd_path: " + *b.initrd_path + ")");
  if (ok) draft_.boot_source = b;
  return configured(ok);
}

ActionResult Controller::on(const PutDrive& a) {
  if (started()) return not_after_start();
  const DriveConfig& drive = a.config;
  // Firecracker's DriveError texts.
  auto ok = check_access(drive.path_on_host, drive.is_read_only ? R_OK : (R_OK | W_OK),
                         "Drive config error: Unable to create the virtio block device: Virtio backend error: Error "
                         "manipulating the backing file: ",
                         " " + drive.path_on_host);
  if (!ok) return ok.error();
  std::vector<DriveConfig> drives = draft_.drives;
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
  if (roots > 1)
    return make_error("Drive config error: A root block device already exists! (drive " + drive.drive_id + ")");
  draft_.drives = std::move(drives);
  return configured({});
}

ActionResult Controller::on(const PutNetworkInterface& a) {
  if (started()) return not_after_start();
  const NetworkInterfaceConfig& iface = a.config;
  std::vector<NetworkInterfaceConfig>& ifaces = draft_.network_interfaces;
  // As Firecracker's NetBuilder::build: a MAC another interface holds is refused with nothing
  // changed; past that check an update first drops the interface it replaces (swap_remove: the
  // last one takes its place), so that an update which then fails leaves it gone.
  for (const auto& other : ifaces) {
    if (other.iface_id != iface.iface_id && other.guest_mac && iface.guest_mac && *other.guest_mac == *iface.guest_mac)
      return make_error("Network config error: The MAC address is already in use: " +
                        format_mac(*iface.guest_mac) + " (held by " + other.iface_id + ")");
  }
  for (size_t i = 0; i < ifaces.size(); ++i) {
    if (ifaces[i].iface_id != iface.iface_id) continue;
    ifaces[i] = std::move(ifaces.back());
    ifaces.pop_back();
    break;
  }
  const std::string cannot_create = "Network config error: Could not create the network device: ";
  if (auto ok = VirtioNet::check_config(net_device_config(iface)); !ok)
    return make_error(cannot_create + ok.error().message + " (network interface " + iface.iface_id + ")");
  for (const auto& other : ifaces) {
    // Firecracker finds out when it opens the tap, which another device holds (EBUSY).
    if (other.host_dev_name == iface.host_dev_name)
      return make_error(cannot_create + "Open tap device failed: " + os_error(EBUSY) + " (tap " +
                        iface.host_dev_name + " is already used by " + other.iface_id + ")");
  }
  ifaces.push_back(iface);
  return configured({});
}

ActionResult Controller::on(const PutVsock& a) {
  if (started()) return not_after_start();
  auto ok = VirtioVsock::check_config(vsock_device_config(a.config));
  if (!ok) return with_context("Vsock config error", ok.error());
  draft_.vsock = a.config;
  return configured({});
}

// Firecracker (rpc_interface.rs set_custom_cpu_template): the custom template takes the one
// template slot, so a static machine-config.cpu_template is dropped. The template's fit to the
// host is checked at InstanceStart. Not a boot resource: snapshot/load stays allowed after it.
ActionResult Controller::on(const PutCpuConfig& a) {
  if (started()) return not_after_start();
  draft_.cpu_config = a.config;
  draft_.machine.cpu_template = StaticCpuTemplate::kNone;
  return done();
}

ActionResult Controller::on(const PutLogger& a) {
  if (started()) return not_after_start();
  const LoggerConfig& logger = a.config;
  if (logger.log_path) {
    UniqueFd fd(::open(logger.log_path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600));
    if (!fd.valid())
      return make_error(ErrorKind::kHost,
                        "logger.log_path: cannot open " + *logger.log_path + ": " + std::strerror(errno));
    log_set_fd(fd.get());
    log_fd_ = std::move(fd);
  }
  if (logger.level) log_configure(options_.instance_id, to_log_level(*logger.level));
  // As Firecracker's Logger::update: each field given replaces the setting, one left out keeps it.
  if (logger.show_level) log_set_show_level(*logger.show_level);
  if (logger.show_log_origin) log_set_show_origin(*logger.show_log_origin);
  if (logger.module) log_set_module(*logger.module);
  return done();
}

ActionResult Controller::on(const PutMetrics& a) {
  if (started()) return not_after_start();
  if (auto configured = metrics_.configure(a.config); !configured) return configured.error();
  return done();
}

// --- The metadata service. The store can be filled and read at any time, before InstanceStart,
// while the VM runs and between a snapshot load and its resume (each clone its own data);
// its configuration only before InstanceStart, as Firecracker allows.

namespace {

// Firecracker's VmmActionError texts for the store (rpc_interface.rs): "MMDS error: ..." and,
// answered with 413, "MMDS limit exceeded error: ...".
Error mmds_store_error(const Error& e) {
  return make_error(e.kind, std::string(e.kind == ErrorKind::kTooLarge ? "MMDS limit exceeded error: " : "MMDS error: ") +
                                e.message);
}

// Firecracker's MmdsConfigError texts behind its prefix (its "MMMDS" included: clients match it).
Error mmds_config_error(const std::string& what) { return make_error("MMMDS config error: " + what); }

}  // namespace

ActionResult Controller::on(const PutMmds& a) {
  if (auto put = mmds_->store().put(a.data); !put) return mmds_store_error(put.error());
  return done();
}

ActionResult Controller::on(const PatchMmds& a) {
  if (auto patched = mmds_->store().patch(a.patch); !patched) return mmds_store_error(patched.error());
  return done();
}

ActionResult Controller::on(const GetMmds&) {
  return ActionOutput{MmdsContent{mmds_->store().text()}};
}

ActionResult Controller::on(const PutMmdsConfig& a) {
  if (started()) return not_after_start();
  const MmdsConfig& m = a.config;
  // In Firecracker's order (VmResources::set_mmds_network_stack_config).
  if (m.ipv4_address && !is_usable_link_local(*m.ipv4_address))
    return mmds_config_error("The MMDS IPv4 address is not link local.");
  if (m.network_interfaces.empty())
    return mmds_config_error("The list of network interface IDs that allow forwarding MMDS requests is empty.");
  for (const std::string& id : m.network_interfaces) {
    const bool known = std::any_of(draft_.network_interfaces.begin(), draft_.network_interfaces.end(),
                                   [&](const NetworkInterfaceConfig& n) { return n.iface_id == id; });
    if (!known)
      return mmds_config_error(
          "The list of network interface IDs provided contains at least one ID that does not correspond to any "
          "existing network interface.");
  }
  draft_.mmds = m;
  mmds_->store().configure(m.version, m.imds_compat);
  return done();
}

// --- Making the microVM.

ActionResult Controller::on(const InstanceStart&) {
  if (started()) return not_after_start();
  // Firecracker's StartMicrovmError::MissingKernelConfig, then ember's hint.
  if (!draft_.boot_source)
    return make_error(ErrorKind::kState,
                      "Start microvm error: Cannot start microvm without kernel configuration. (PUT /boot-source "
                      "first)");
  VmOptions opts = vm_options();
  opts.config = draft_;
  auto vm = factory_.build(opts, loop_, exit_);
  if (!vm) return with_context("Start microvm error", vm.error());
  TRY(adopt(std::move(vm).value(), /*leave_paused=*/false, "InstanceStart"));
  draft_ = VmConfig{};  // the VM holds the configuration now
  log_info("VM started");
  return done();
}

ActionResult Controller::on(const LoadSnapshot& a) {
  if (started()) return not_after_start();
  // As Firecracker: a snapshot brings its own machine and devices.
  if (boot_configured_)
    return make_error(ErrorKind::kState,
                      "Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific "
                      "resources.");
  auto vm = factory_.restore(a.params, vm_options(), loop_, exit_);
  if (!vm) return with_context("Load snapshot error", vm.error());
  TRY(adopt(std::move(vm).value(), /*leave_paused=*/!a.params.resume_vm, "snapshot/load"));
  // The snapshot keeps the MMDS version and interfaces, not the data: a clone's store starts
  // empty and is filled before it resumes.
  if (const auto& m = config().mmds) mmds_->store().configure(m->version, m->imds_compat);
  log_info(a.params.resume_vm ? "VM restored and resumed" : "VM restored, paused");
  return done();
}

// --- The running microVM: after InstanceStart only.

ActionResult Controller::on(const CreateSnapshot& a) {
  if (!started()) return not_before_start();
  // Firecracker's words: its vCPUs refuse to save their state while they run.
  if (!paused_)
    return make_error(ErrorKind::kState,
                      "Create snapshot error: Cannot save the microVM state: save/restore unavailable while running "
                      "(the microVM must be paused first: PATCH /vm {\"state\": \"Paused\"})");
  const auto started_at = std::chrono::steady_clock::now();
  if (auto r = vm_->create_snapshot(a.params); !r) return with_context("Create snapshot error", r.error());
  const auto took = std::chrono::steady_clock::now() - started_at;
  log_info("snapshot written to " + a.params.snapshot_path + " and " + a.params.mem_file_path + " in " +
           std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(took).count()) + " us");
  return done();
}

ActionResult Controller::on(const FlushMetrics&) {
  if (!started()) return not_before_start();
  if (auto flushed = metrics_.flush(); !flushed) return with_context("FlushMetrics", flushed.error());
  return done();
}

ActionResult Controller::on(const PatchVm& a) {
  if (!started()) return not_before_start();
  if (a.state == RequestedVmState::kPaused) {
    if (!paused_) vm_->pause();
    paused_ = true;
    log_info("VM paused");
  } else {
    if (paused_) vm_->resume();
    paused_ = false;
    log_info("VM resumed");
  }
  return done();
}

ActionResult Controller::on(const SendCtrlAltDel&) {
  if (!started()) return not_before_start();
  if (auto r = vm_->send_ctrl_alt_del(); !r) return with_context("SendCtrlAltDel", r.error());
  return done();
}

ActionResult Controller::on(const PatchDrive& a) {
  if (!started()) return not_before_start();
  // Firecracker takes a PATCH with neither field for a vhost-user-block drive's update, which a
  // virtio-block drive (every drive of ember's) refuses.
  if (!a.path_on_host && !a.rate_limiter)
    return make_error("Drive config error: Unable to patch the block device: Running method expected different "
                      "backend. Please verify the request arguments. (drive " + a.drive_id + ")");
  // The VM updates its own configuration too, so that a later snapshot carries the change.
  if (auto r = vm_->update_drive(a.drive_id, a.path_on_host, a.rate_limiter); !r)
    return with_context("Drive config error: Unable to patch the block device", r.error());
  return done();
}

ActionResult Controller::on(const PatchNetworkInterface& a) {
  if (!started()) return not_before_start();
  if (auto r = vm_->update_net_rate_limiters(a.iface_id, a.rx_rate_limiter, a.tx_rate_limiter); !r)
    return make_error(r.error().kind, "Network config error: Unable to update the net device: " + r.error().message);
  return done();
}

}  // namespace ember
