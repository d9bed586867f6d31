// restore_vm(): a VM rebuilt from a snapshot, every vCPU and device back in its saved state.
#include "vmm/vm.h"

#include <fcntl.h>

#include <algorithm>

#include "base/errno_error.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "snapshot/state_file.h"
#include "vmm/snapshot/microvm_state.h"
#include "vmm/vm_builder.h"

namespace ember {
namespace {

// The snapshot's configuration with the load request's overrides applied: a clone gets its own
// tap and vsock socket.
Result<VmConfig> restored_config(const MicrovmState& state, const SnapshotLoadParams& params) {
  VmConfig cfg = state.config;
  for (const auto& o : params.network_overrides) {
    auto it = std::find_if(cfg.network_interfaces.begin(), cfg.network_interfaces.end(),
                           [&](const NetworkInterfaceConfig& n) { return n.iface_id == o.iface_id; });
    if (it == cfg.network_interfaces.end())
      return make_error("network_overrides: the snapshot has no network interface '" + o.iface_id + "'");
    it->host_dev_name = o.host_dev_name;
  }
  if (params.vsock_override) {
    if (!cfg.vsock) return make_error("vsock_override: the snapshot has no vsock device");
    cfg.vsock->uds_path = params.vsock_override->uds_path;
  }
  cfg.machine.track_dirty_pages = params.track_dirty_pages;
  TRY(validate_machine_config(cfg.machine, host_memory_bytes()));
  return cfg;
}

// Gives the restored parts their saved states: the vCPUs (created here), the VM's clocks and
// interrupt controllers, the legacy and virtio devices.
Result<void> restore_states(MicroVmParts& parts, const MicrovmState& state, const SnapshotLoadParams& params,
                            uint32_t vcpu_count, ExitSignal& exit) {
  TRY(add_vcpus(parts, exit, vcpu_count, [&](const VcpuFd& fd) -> Result<void> {
    auto r = restore_vcpu_state(fd, state.vcpus[fd.id()], parts.xsave_size);
    if (!r) return with_context("restoring vCPU " + std::to_string(fd.id()), r.error());
    return {};
  }));
  // After the vCPUs: KVM recomputes every vCPU's kvmclock from the VM clock set here.
  auto vm_state = restore_vm_state(*parts.vm_fd, state.vm, params.clock_realtime);
  if (!vm_state) return with_context("restoring the VM state", vm_state.error());
  auto serial = parts.serial->restore_state(state.serial);
  if (!serial) return with_context("restoring the serial port", serial.error());
  auto i8042 = parts.i8042->restore_state(state.i8042);
  if (!i8042) return with_context("restoring the i8042", i8042.error());
  auto devices = parts.virtio->restore_states(state.virtio);
  if (!devices) return with_context("restoring the virtio devices", devices.error());
  // Connections of the snapshotted VM do not exist here: the guest drops its own on the
  // transport reset event (virtio 1.2 §5.10.6.7).
  if (parts.vsock_transport) parts.vsock_transport->process_device_event(VirtioVsock::kTransportResetEvent);
  return {};
}

}  // namespace

Result<std::unique_ptr<Vm>> restore_vm(const SnapshotLoadParams& params, const VmOptions& options, EventLoop& loop,
                                       ExitSignal& exit) {
  if (params.mem_backend.backend_type != MemBackendType::kFile)
    return make_error("mem_backend: only the File backend is supported");
  auto payload = read_state_file(params.snapshot_path);
  if (!payload) return with_context("snapshot_path", payload.error());
  auto state = decode_microvm_state(*payload);
  if (!state) return with_context("snapshot " + params.snapshot_path, state.error());
  ASSIGN_OR_RETURN(VmConfig cfg, restored_config(*state, params));
  auto plan = plan_vm(cfg);
  if (!plan) return with_context("snapshot " + params.snapshot_path, plan.error());
  if (state->memory_regions != plan->memory_regions)
    return make_error("the snapshot's memory layout does not match its " + std::to_string(cfg.machine.mem_size_mib) +
                      " MiB machine config");

  const std::string& mem_path = params.mem_backend.backend_path;
  // Read-only is enough: the mapping is private, the guest's writes never reach the file.
  UniqueFd mem_fd(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem_fd.valid()) return with_context("mem_backend.backend_path", errno_error("cannot open " + mem_path));

  auto parts = assemble_vm(cfg, *plan, options, loop, exit, mem_fd.get());
  if (!parts) return with_context("snapshot " + params.snapshot_path, parts.error());
  TRY(restore_states(**parts, *state, params, cfg.machine.vcpu_count, exit));
  auto vm = std::make_unique<MicroVm>(loop, std::move(cfg), std::move(parts).value(), options.console_in_fd);
  vm->forget_dirty_pages();
  log_info("restored the microVM from " + params.snapshot_path);
  return std::unique_ptr<Vm>(std::move(vm));
}

}  // namespace ember
