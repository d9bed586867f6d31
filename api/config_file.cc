#include "api/config_file.h"

#include <nlohmann/json.hpp>

#include <map>

#include "api/json_fields.h"
#include "base/file.h"
#include "api/request_parser.h"

namespace ember {
namespace {

using json = nlohmann::json;

// Config-file key -> the API path its body is PUT to. Array sections PUT one body per entry to
// path + "/" + the entry's id field.
struct Section {
  const char* path;
  const char* id_field;  // nullptr: a single object
};
const std::map<std::string, Section>& sections() {
  static const std::map<std::string, Section> m = {
      {"logger", {"/logger", nullptr}},
      {"metrics", {"/metrics", nullptr}},
      {"machine-config", {"/machine-config", nullptr}},
      {"boot-source", {"/boot-source", nullptr}},
      {"drives", {"/drives", "drive_id"}},
      {"network-interfaces", {"/network-interfaces", "iface_id"}},
      {"vsock", {"/vsock", nullptr}},
      {"cpu-config", {"/cpu-config", nullptr}},
      {"mmds-config", {"/mmds/config", nullptr}},
  };
  return m;
}
// Sections of Firecracker's config file for what ember does not have (firecracker-api-v1.16.1
// definitions/FullVmConfiguration). Firecracker's own files, and GET /vm/config, write them as
// null or []: that says "none" and is accepted; any content is refused, naming the section.
constexpr const char* kOutOfScope[] = {"balloon", "entropy", "memory-hotplug", "pmem", "serial"};

bool is_out_of_scope(const std::string& key) {
  for (const char* name : kOutOfScope) {
    if (key == name) return true;
  }
  return false;
}

// The order in which sections apply: logging first, devices after the machine.
// cpu-config right after machine-config, as Firecracker's resources.rs: a custom template then
// replaces a machine-config.cpu_template. mmds-config after the interfaces it names.
constexpr const char* kOrder[] = {"logger", "metrics", "machine-config", "cpu-config", "boot-source",
                                  "drives", "network-interfaces", "vsock", "mmds-config"};

// Firecracker's "cpu-config" is a custom template inline, or the path of a file holding one.
constexpr uint64_t kMaxCpuConfigFileBytes = 1 << 20;
Result<json> cpu_config_body(const json& value) {
  const std::string path = value.get<std::string>();
  auto text = read_file(path, kMaxCpuConfigFileBytes);
  if (!text) return make_error("cpu-config: cannot read " + path + ": " + text.error().message);
  json body = json::parse(text->begin(), text->end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return make_error("cpu-config: " + path + " is not valid JSON");
  return body;
}

// The section goes to the same parser as the API's body, as JSON: printing it and parsing it
// again would gain nothing (and printing recurses once per level of nesting).
Result<VmmAction> put(const std::string& where, const std::string& path, const json& body) {
  auto action = api_detail::parse_api_request_json("PUT", path, body);
  if (!action) return make_error(where + ": " + action.error().message);
  return action;
}

}  // namespace

Result<std::vector<VmmAction>> parse_config_file(std::string_view json_text) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return make_error("config file is not valid JSON");
  if (!root.is_object()) return make_error("config file must hold a JSON object");
  for (const auto& [key, value] : root.items()) {
    if (is_out_of_scope(key)) {
      if (value.is_null() || (value.is_array() && value.empty())) continue;
      return make_error("'" + key + "' is not supported by ember: give it as null (or leave it out)");
    }
    if (!sections().contains(key)) return make_error("unknown key '" + key + "' in the config file");
  }
  // A section given as null is absent, as any optional field is (json_fields.h).
  const api_detail::JsonFields fields(root, "the config file");
  std::vector<VmmAction> actions;
  for (const char* key : kOrder) {
    if (!fields.has(key)) continue;
    const Section& section = sections().at(key);
    const json& value = root.at(key);
    if (section.id_field == nullptr) {
      // Only a cpu-config path makes a new value: copying a section could recurse as deep as it nests.
      json from_file;
      if (std::string_view(key) == "cpu-config" && value.is_string()) { ASSIGN_OR_RETURN(from_file, cpu_config_body(value)); }
      ASSIGN_OR_RETURN(VmmAction a, put(key, section.path, from_file.is_null() ? value : from_file));
      actions.push_back(std::move(a));
      continue;
    }
    if (!value.is_array()) return make_error(std::string("'") + key + "' must be a JSON array");
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      const json& entry = value[i];
      if (!entry.is_object() || !entry.contains(section.id_field) || !entry.at(section.id_field).is_string())
        return make_error(where + ": " + section.id_field + " is required and must be a string");
      ASSIGN_OR_RETURN(VmmAction a, put(where, std::string(section.path) + "/" +
                                                   entry.at(section.id_field).get<std::string>(), entry));
      actions.push_back(std::move(a));
    }
  }
  actions.push_back(InstanceStart{});
  return actions;
}

}  // namespace ember
