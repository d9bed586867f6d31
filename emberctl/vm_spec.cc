#include "emberctl/vm_spec.h"

#include <nlohmann/json.hpp>

#include "api/client/client.h"

namespace ember::ctl {

using nlohmann::json;

std::string boot_args(const VmSpec& spec) {
  std::string args = "console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd quiet ember.agent=1";
  if (spec.rootfs && spec.rootfs->switch_root) args += " ember.root=/dev/vda";
  if (!spec.extra_boot_args.empty()) args += " " + spec.extra_boot_args;
  return args;
}

std::vector<ApiCall> configure_calls(const VmSpec& spec) {
  std::vector<ApiCall> calls;
  json boot = {{"kernel_image_path", spec.kernel}, {"boot_args", boot_args(spec)}};
  if (!spec.initrd.empty()) boot["initrd_path"] = spec.initrd;
  calls.push_back({"PUT", "/boot-source", boot.dump()});
  calls.push_back({"PUT", "/machine-config", json{{"vcpu_count", spec.cpus}, {"mem_size_mib", spec.mem_mib}}.dump()});
  if (spec.rootfs) {
    // is_root_device puts the disk first (/dev/vda); the guest's /init mounts it itself
    // (ext4 and virtio_blk are modules its initramfs loads).
    calls.push_back({"PUT", "/drives/rootfs",
                     json{{"drive_id", "rootfs"},
                          {"path_on_host", spec.rootfs->path},
                          {"is_root_device", true},
                          {"is_read_only", spec.rootfs->read_only}}
                         .dump()});
  }
  if (!spec.tap.empty()) {
    calls.push_back({"PUT", "/network-interfaces/eth0",
                     json{{"iface_id", "eth0"}, {"host_dev_name", spec.tap}}.dump()});
  }
  calls.push_back({"PUT", "/vsock", json{{"guest_cid", kGuestCid}, {"uds_path", spec.vsock_uds}}.dump()});
  calls.push_back({"PUT", "/actions", json{{"action_type", "InstanceStart"}}.dump()});
  return calls;
}

ApiCall pause_call() { return {"PATCH", "/vm", json{{"state", "Paused"}}.dump()}; }

ApiCall snapshot_create_call(const std::string& snapshot_path, const std::string& mem_path) {
  return {"PUT", "/snapshot/create",
          json{{"snapshot_type", "Full"}, {"snapshot_path", snapshot_path}, {"mem_file_path", mem_path}}.dump()};
}

ApiCall snapshot_load_call(const std::string& snapshot_path, const std::string& mem_path, const std::string& vsock_uds) {
  return {"PUT", "/snapshot/load",
          json{{"snapshot_path", snapshot_path},
               {"mem_backend", {{"backend_type", "File"}, {"backend_path", mem_path}}},
               {"resume_vm", true},
               {"vsock_override", {{"uds_path", vsock_uds}}}}
              .dump()};
}

std::string fault_message(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("fault_message") && j["fault_message"].is_string())
    return j["fault_message"].get<std::string>();
  return body;
}

Result<void> send_calls(ApiClient& client, const std::vector<ApiCall>& calls) {
  for (const auto& call : calls) {
    auto r = client.request(call.method, call.path, call.body);
    if (!r) return r.error();
    if (r->status < 200 || r->status > 299)
      return make_error(call.method + " " + call.path + ": " + std::to_string(r->status) + " " + fault_message(r->body));
  }
  return {};
}

}  // namespace ember::ctl
