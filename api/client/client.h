// A small synchronous client for ember's API socket (HTTP/1.1 over a Unix socket), used by
// emberctl and the tests. One connection, kept alive across requests and reopened when the
// server closed it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ember {

struct ApiResponse {
  int status = 0;
  std::string body;  // as sent: JSON, or empty
};

class ApiClient {
 public:
  // Connects now, so that a missing socket is reported here. `timeout` bounds each request
  // (connect, send and answer together); a request that runs past it fails and closes the
  // connection.
  [[nodiscard]] static Result<ApiClient> connect(const std::string& socket_path,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ApiClient(ApiClient&&) noexcept;
  ApiClient& operator=(ApiClient&&) noexcept;
  ~ApiClient();

  // `method` "GET", "PUT" or "PATCH"; `path` "/drives/rootfs"; `body` JSON or empty.
  [[nodiscard]] Result<ApiResponse> request(std::string_view method, std::string_view path,
                                            std::string_view body = {});

  class Impl;
  explicit ApiClient(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// One request on a connection of its own.
[[nodiscard]] Result<ApiResponse> api_request(const std::string& socket_path, std::string_view method,
                                              std::string_view path, std::string_view body = {},
                                              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace ember
