#include "api/vm_config_json.h"

#include <nlohmann/json.hpp>

#include <set>

namespace ember {
namespace {

using json = nlohmann::json;

Result<void> reject_unknown_keys(const json& obj, const std::string& where,
                                 const std::set<std::string>& known) {
  for (const auto& [key, _] : obj.items()) {
    if (!known.contains(key)) return make_error("unknown key '" + key + "' in " + where);
  }
  return {};
}

Result<std::string> get_string(const json& obj, const std::string& where, const std::string& key) {
  const json& v = obj.at(key);
  if (!v.is_string()) return make_error(where + "." + key + " must be a string");
  return v.get<std::string>();
}

Result<uint64_t> get_unsigned(const json& obj, const std::string& where, const std::string& key) {
  const json& v = obj.at(key);
  if (!v.is_number_unsigned())
    return make_error(where + "." + key + " must be a non-negative integer");
  return v.get<uint64_t>();
}

Result<bool> get_bool(const json& obj, const std::string& where, const std::string& key) {
  const json& v = obj.at(key);
  if (!v.is_boolean()) return make_error(where + "." + key + " must be true or false");
  return v.get<bool>();
}

}  // namespace

Result<BootSourceConfig> parse_boot_source(const json& o) {
  const std::string where = "boot-source";
  if (!o.is_object()) return make_error("'boot-source' must be a JSON object");
  TRY(reject_unknown_keys(o, where, {"kernel_image_path", "boot_args", "initrd_path", "bzimage_load"}));
  if (!o.contains("kernel_image_path")) return make_error("boot-source.kernel_image_path is required");
  BootSourceConfig b;
  ASSIGN_OR_RETURN(b.kernel_image_path, get_string(o, where, "kernel_image_path"));
  if (b.kernel_image_path.empty()) return make_error("boot-source.kernel_image_path is empty");
  if (o.contains("boot_args")) {
    ASSIGN_OR_RETURN(std::string args, get_string(o, where, "boot_args"));
    b.boot_args = std::move(args);
  }
  if (o.contains("initrd_path") && !o.at("initrd_path").is_null()) {
    ASSIGN_OR_RETURN(std::string initrd, get_string(o, where, "initrd_path"));
    b.initrd_path = std::move(initrd);
  }
  if (o.contains("bzimage_load")) {
    ASSIGN_OR_RETURN(std::string mode, get_string(o, where, "bzimage_load"));
    if (mode == "auto") b.bzimage_load = BzImageMode::kAuto;
    else if (mode == "host") b.bzimage_load = BzImageMode::kHost;
    else if (mode == "guest") b.bzimage_load = BzImageMode::kGuest;
    else return make_error("boot-source.bzimage_load must be \"auto\", \"host\" or \"guest\"");
  }
  return b;
}

Result<MachineConfig> parse_machine_config(const json& o) {
  const std::string where = "machine-config";
  if (!o.is_object()) return make_error("'machine-config' must be a JSON object");
  TRY(reject_unknown_keys(o, where, {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
                                     "cpu_template", "huge_pages"}));
  MachineConfig m;
  if (!o.contains("vcpu_count")) return make_error("machine-config.vcpu_count is required");
  if (!o.contains("mem_size_mib")) return make_error("machine-config.mem_size_mib is required");
  ASSIGN_OR_RETURN(uint64_t vcpus, get_unsigned(o, where, "vcpu_count"));
  if (vcpus > UINT32_MAX) return make_error("machine-config.vcpu_count is out of range");
  m.vcpu_count = static_cast<uint32_t>(vcpus);
  ASSIGN_OR_RETURN(m.mem_size_mib, get_unsigned(o, where, "mem_size_mib"));
  if (o.contains("smt")) { ASSIGN_OR_RETURN(m.smt, get_bool(o, where, "smt")); }
  if (o.contains("track_dirty_pages")) {
    ASSIGN_OR_RETURN(m.track_dirty_pages, get_bool(o, where, "track_dirty_pages"));
  }
  if (o.contains("cpu_template") && !o.at("cpu_template").is_null()) {
    ASSIGN_OR_RETURN(std::string t, get_string(o, where, "cpu_template"));
    if (t != "None") return make_error("machine-config.cpu_template '" + t + "' is not supported (only \"None\")");
  }
  if (o.contains("huge_pages")) {
    ASSIGN_OR_RETURN(std::string h, get_string(o, where, "huge_pages"));
    if (h != "None") return make_error("machine-config.huge_pages '" + h + "' is not supported (only \"None\")");
  }
  return m;
}

}  // namespace ember
