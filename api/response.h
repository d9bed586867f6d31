// The API's answers: the controller's typed results turned into HTTP statuses and the JSON
// bodies firecracker-api-v1.16.1.yaml defines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/models.h"
#include "config/vm_config.h"
#include "vmm/controller/action.h"

namespace ember {

[[nodiscard]] std::string instance_info_json(const InstanceInfo& info);
// definitions/FirecrackerVersion: {"firecracker_version": version}.
[[nodiscard]] std::string version_json(std::string_view version);
// definitions/MachineConfiguration (GET /machine-config).
[[nodiscard]] std::string machine_config_json(const MachineConfig& config);
[[nodiscard]] std::string vm_config_json(const FullVmConfig& config);
// definitions/Error: {"fault_message": message}.
[[nodiscard]] std::string fault_json(std::string_view message);

// "Not started", "Running", "Paused".
[[nodiscard]] std::string_view instance_state_name(InstanceState state);
// "02:fc:00:00:00:05".
[[nodiscard]] std::string format_mac_address(const MacAddress& mac);

// The answer to one request: 204 with an empty body, 200 with a JSON body, or an error status
// with a {"fault_message": ...} body.
struct ApiReply {
  int status = 204;
  std::string body;  // JSON, or empty
  // The request used a deprecated field: the answer carries `Deprecation: true`, as
  // Firecracker's does (whatever its status).
  bool deprecated = false;
};

// An error's HTTP status: 503 while the VMM shuts down, 500 for a bug, else 400 (Firecracker
// answers every refused request with 400 Bad Request).
[[nodiscard]] int http_status(ErrorKind kind);
// The controller's answer as HTTP: no value is 204, a value is 200 with its JSON, an error is
// http_status(kind) with its message.
[[nodiscard]] ApiReply to_reply(const ActionResult& result);

[[nodiscard]] ApiReply reply_no_content();
[[nodiscard]] ApiReply reply_json(std::string json_body);
[[nodiscard]] ApiReply reply_error(std::string_view message, int status = 400);

}  // namespace ember
