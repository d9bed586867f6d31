// One API request a KVM test expects an answer to, whatever its status.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "api/client/client.h"

namespace ember::test {

// The answer to `method path` with `body` on the API socket `sock`; when none comes (no
// connection, no reply in 10 s) a test failure naming the request and an empty answer (status 0).
inline ApiResponse api_answer(const std::string& sock, const std::string& method, const std::string& path,
                              const std::string& body = "") {
  auto r = api_request(sock, method, path, body, std::chrono::seconds(10));
  EXPECT_TRUE(r.ok()) << method << " " << path << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ApiResponse{};
}

}  // namespace ember::test
