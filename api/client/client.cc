#include "api/client/client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/un.h>

namespace ember {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using stream_protocol = asio::local::stream_protocol;
using error_code = boost::system::error_code;

// Far more than any answer of the API (GET /vm/config with many devices is a few KiB).
constexpr size_t kMaxResponseBodyBytes = 16 << 20;

}  // namespace

// Every operation is asynchronous and run on a private io_context for at most the timeout:
// Asio's blocking calls cannot be given one.
class ApiClient::Impl {
 public:
  Impl(std::string path, std::chrono::milliseconds timeout) : path_(std::move(path)), timeout_(timeout) {}

  Result<void> open() {
    error_code connect_ec;
    start_connect(connect_ec, [] {});
    TRY(run("connecting to the API socket '" + path_ + "'"));
    if (connect_ec) return connect_error(connect_ec);
    return {};
  }

  Result<ApiResponse> request(std::string_view method, std::string_view target, std::string_view body) {
    http::request<http::string_body> req;
    req.method_string(beast::string_view(method.data(), method.size()));
    req.target(beast::string_view(target.data(), target.size()));
    req.version(11);
    req.set(http::field::host, "localhost");
    req.set(http::field::accept, "application/json");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::string(body);
    }
    req.keep_alive(true);
    req.prepare_payload();

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    error_code connect_ec;
    error_code write_ec;
    error_code read_ec;
    auto read = [&] {
      http::async_read(socket_, buffer_, parser, [&](const error_code& ec, size_t) { read_ec = ec; });
    };
    // Read even when the write failed: a server that refuses a request early (a body over its limit) answers
    // and closes before it has read everything.
    auto write = [&] {
      http::async_write(socket_, req, [&](const error_code& ec, size_t) {
        write_ec = ec;
        read();
      });
    };
    if (socket_.is_open()) {
      write();
    } else {
      start_connect(connect_ec, write);
    }
    const std::string what = std::string(method) + " " + std::string(target);
    TRY(run(what));
    if (connect_ec) return connect_error(connect_ec);
    if (read_ec) {
      close();
      const error_code& ec = write_ec ? write_ec : read_ec;
      return make_error(what + ": no answer from the API server: " + ec.message());
    }
    ApiResponse response{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
    if (!parser.get().keep_alive()) close();
    return response;
  }

 private:
  template <class Then>
  void start_connect(error_code& connect_ec, Then then) {
    close();
    socket_.async_connect(stream_protocol::endpoint(path_), [&connect_ec, then](const error_code& ec) {
      connect_ec = ec;
      if (!ec) then();
    });
  }

  Error connect_error(const error_code& ec) {
    close();
    return make_error("cannot connect to the API socket '" + path_ + "': " + ec.message());
  }

  // Runs the pending operations to their end, or until the timeout.
  Result<void> run(const std::string& what) {
    io_.restart();
    io_.run_for(timeout_);
    if (io_.stopped()) return {};
    // Time is up and an operation is still pending: cancel it and let its handler finish
    // (the handlers refer to the caller's locals).
    close();
    io_.restart();
    io_.run();
    return make_error(what + ": no answer within " + std::to_string(timeout_.count()) + " ms");
  }

  void close() {
    error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
  }

  const std::string path_;
  const std::chrono::milliseconds timeout_;
  asio::io_context io_{1};
  stream_protocol::socket socket_{io_};
  beast::flat_buffer buffer_;
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<ApiClient> ApiClient::connect(const std::string& socket_path, std::chrono::milliseconds timeout) {
  if (socket_path.empty() || socket_path.size() >= sizeof(sockaddr_un::sun_path))
    return make_error("'" + socket_path + "' cannot be a Unix socket path (1 to " +
                      std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)");
  auto impl = std::make_unique<Impl>(socket_path, timeout);
  TRY(impl->open());
  return ApiClient(std::move(impl));
}

Result<ApiResponse> ApiClient::request(std::string_view method, std::string_view path, std::string_view body) {
  return impl_->request(method, path, body);
}

Result<ApiResponse> api_request(const std::string& socket_path, std::string_view method, std::string_view path,
                                std::string_view body, std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::connect(socket_path, timeout));
  return client.request(method, path, body);
}

}  // namespace ember
