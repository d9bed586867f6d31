// Routing and validation of API requests: from an HTTP method, request target and body to the
// action the VMM runs, following firecracker-api-v1.16.1.yaml. Pure: no I/O, no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "vmm/controller/action.h"
#include "base/result.h"

namespace ember {

// Every error of parse_api_request is bad input, which the yaml answers with 400 Bad Request
// and {"fault_message": <the error's message>}.
inline constexpr int kApiBadRequestStatus = 400;

// `method` as sent ("GET", "PUT", "PATCH"; case matters, as in HTTP); `target` the request
// target (origin form "/drives/rootfs", or absolute form "http://localhost/drives/rootfs"; a
// query string is ignored, as are empty path segments); `body` the request's body (ignored
// for GET). Errors carry Firecracker's fault text first (its RequestError wording: "Invalid
// request method and/or path: ...", "An error occurred when deserializing the json body of a
// request: missing field `vcpu_count` at line 1 column 21.") and may add ember's detail after.
[[nodiscard]] Result<VmmAction> parse_api_request(std::string_view method, std::string_view target,
                                                  std::string_view body);

// A request's action, and what Firecracker would say of its deprecated fields.
struct ParsedApiRequest {
  VmmAction action;
  // Firecracker v1.16.1's warning for a request that uses a deprecated field ("PUT /vsock:
  // vsock_id field is deprecated."): the server logs it and answers with `Deprecation: true`.
  std::optional<std::string> deprecation;
};

// parse_api_request, with the deprecation warning.
[[nodiscard]] Result<ParsedApiRequest> parse_api_request_with_info(std::string_view method, std::string_view target,
                                                                   std::string_view body);

// The endpoint a request is addressed to, as the yaml spells it ("PUT /drives/{drive_id}"), or
// "" when the method and path match no endpoint ember serves. For per-endpoint metrics.
[[nodiscard]] std::string api_endpoint_name(std::string_view method, std::string_view target);

namespace api_detail {

// parse_api_request for a body that is already JSON: the config file's sections. Internal to api/.
[[nodiscard]] Result<VmmAction> parse_api_request_json(std::string_view method, std::string_view target,
                                                       const nlohmann::json& body);

}  // namespace api_detail

}  // namespace ember
