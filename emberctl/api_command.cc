#include "emberctl/api_command.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "api/client/client.h"
#include "emberctl/exit_codes.h"
#include "emberctl/vm_spec.h"
#include "base/file.h"

namespace ember::ctl {
namespace {

// Far above any API body ember accepts (it refuses more than 50 KiB).
constexpr uint64_t kMaxBodyBytes = 1 << 20;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "emberctl api: %s\n", message.c_str());
  return code;
}

}  // namespace

int api_command(const ApiCommandOptions& o) {
  std::string method = o.method;
  std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::toupper(c); });
  if (method != "GET" && method != "PUT" && method != "PATCH")
    return fail(kExitUsage, "method '" + o.method + "': ember's API takes GET, PUT or PATCH");
  if (o.path.empty() || o.path[0] != '/') return fail(kExitUsage, "path '" + o.path + "' must start with '/'");
  std::string body = o.body;
  if (body == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (!body.empty() && body[0] == '@') {
    auto bytes = read_file(body.substr(1), kMaxBodyBytes);
    if (!bytes) return fail(kExitUsage, "body " + body + ": " + bytes.error().message);
    body.assign(bytes->begin(), bytes->end());
  }
  auto response = api_request(o.socket, method, o.path, body,
                              std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  if (!response) return fail(kExitApiUnreachable, response.error().message);
  if (!response->body.empty()) {
    std::fwrite(response->body.data(), 1, response->body.size(), stdout);
    if (response->body.back() != '\n') std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  if (response->status < 200 || response->status > 299)
    return fail(kExitApiErrorStatus, std::to_string(response->status) + ": " + fault_message(response->body));
  return 0;
}

}  // namespace ember::ctl
