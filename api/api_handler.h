// What the API server asks of the VMM: run one action and say how to answer.
#pragma once

#include <string>

#include "vmm/controller/action.h"

namespace ember {

// The answer to one request: 204 with an empty body, 200 with a JSON body, or an error status
// (400 for a request the VMM refused) with a {"fault_message": ...} body. api/response.h
// builds these.
struct ApiReply {
  int status = 204;
  std::string body;  // JSON, or empty
};

class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  // Called on the API server's thread, one request at a time; may block until the VMM has
  // run the action. Must return once the server is being stopped (ApiServer::stop() waits for
  // the request in progress). An exception it throws is answered with 500.
  virtual ApiReply handle(const VmmAction& action) = 0;
};

}  // namespace ember
