// `emberctl api METHOD PATH [BODY]`: one request to a running ember's API socket.
#pragma once

#include <string>

namespace ember::ctl {

struct ApiCommandOptions {
  std::string socket = "/run/ember.socket";
  std::string method;  // GET, PUT, PATCH (any case)
  std::string path;    // "/machine-config"
  std::string body;    // JSON; "-" reads stdin, "@FILE" reads FILE
  double timeout_s = 60;
};

// Prints the answer's body on stdout; 0 for a 2xx answer, kExitApiErrorStatus for another
// status (its fault_message on stderr too), kExitApiUnreachable when nothing answered,
// kExitUsage for a bad method or path.
int api_command(const ApiCommandOptions& options);

}  // namespace ember::ctl
