// The API server: HTTP/1.1 on a Unix socket, served by its own thread (one single-threaded
// Boost.Asio io_context; Boost.Beast parses the HTTP). Each request is routed and validated by
// parse_api_request; a valid one is handed to the ActionHandler (the controller) and its result sent back.
//
// Answers: what the handler says (204, 200 with JSON, an error with {"fault_message"}); 400
// with a fault_message for a request parse_api_request refuses or for malformed HTTP (then the
// connection closes); 400 with Firecracker's text for a body over the limit (closes too).
// Connections are kept alive as HTTP/1.1 asks; many clients may be connected at once, and
// requests from all of them are handled one at a time, in arrival order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "vmm/controller/action.h"
#include "vmm/metrics/api_server_stats.h"

namespace ember {

struct ApiServerLimits {
  size_t max_header_bytes = 8 * 1024;
  // Firecracker's limit on a request body (its --http-api-max-payload-size default).
  size_t max_body_bytes = 50 * 1024;
  // Connections beyond this are closed as soon as they are accepted.
  size_t max_connections = 128;
};

class ApiServer {
 public:
  // Creates the socket at `socket_path` and starts serving on a new thread. Refuses a path
  // that already exists (as Firecracker does: remove a stale socket first). `handler` must
  // outlive the server. The server's thread blocks every signal, so process-wide signals reach
  // the VMM's own threads.
  // `thread_name` is the kernel's name for the server's thread (/proc/<pid>/task/<tid>/comm,
  // at most 15 characters; Firecracker's is `fc_api`).
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> start(const std::string& socket_path,
                                                                ActionHandler& handler,
                                                                ApiServerLimits limits = {},
                                                                std::string thread_name = "ember_api");
  // Stops, joins the thread and removes the socket file.
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Closes the socket and every connection, waits for the request in progress (if any) to
  // finish, joins the thread and removes the socket file. Idempotent; callable from any thread
  // but the server's own (that is, not from inside ActionHandler::handle).
  void stop();

  [[nodiscard]] ApiServerStats stats() const;
  [[nodiscard]] const std::string& socket_path() const;

  class Impl;
  // For start(): an Impl can only be made inside server.cc.
  explicit ApiServer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember
