#include "api/server.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <charconv>
#include <thread>
#include <unordered_set>

#include "api/request_parser.h"
#include "api/response.h"
#include "vmm/metrics/api_request_metrics.h"
#include "vmm/seccomp/thread_filters.h"
#include "base/check.h"
#include "base/log.h"

namespace ember {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using stream_protocol = asio::local::stream_protocol;
using error_code = boost::system::error_code;

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

// A string as Rust's Debug prints it (quoted, escaped), for the log lines Firecracker's users
// match: `The API server received a Put request on "/machine-config" with body "{...}".`
std::string rust_debug_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[12];
          std::snprintf(buf, sizeof(buf), "\\u{%x}", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// "PUT" as Rust's Debug prints micro_http's Method: "Put".
std::string rust_method_name(std::string_view method) {
  std::string out;
  for (size_t i = 0; i < method.size(); ++i) {
    const char c = method[i];
    out += static_cast<char>(i == 0 ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Firecracker's info line for each request (api_server/parsed_request.rs, describe()): the body
// is shown except for /mmds, whose data may be secret.
std::string describe_request(std::string_view method, std::string_view target, std::string_view body) {
  std::string_view path = target;
  const size_t query = path.find_first_of("?#");
  if (query != std::string_view::npos) path = path.substr(0, query);
  std::string line = "The API server received a " + rust_method_name(method) + " request on " + rust_debug_string(path);
  if (!body.empty() && path != "/mmds") line += " with body " + rust_debug_string(body);
  return line + ".";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

void set_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

}  // namespace

namespace api_detail {
class HttpSession;
}

class ApiServer::Impl {
 public:
  Impl(std::string path, ActionHandler& handler, ApiServerLimits limits, std::string thread_name)
      : path_(std::move(path)), handler_(handler), limits_(limits), thread_name_(std::move(thread_name)) {}
  ~Impl() { stop(); }

  Result<void> listen();
  // Starts the server's thread, which confines itself with the API thread's seccomp filter
  // before it serves anything; fails (with the thread ended) if it cannot.
  Result<void> start_thread();
  void stop();

  ApiServerStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }
  const std::string& path() const { return path_; }

  // Called by sessions, on the server's thread.
  ApiReply serve(std::string_view method, std::string_view target, std::string_view body);
  void count_bad_http() {
    std::lock_guard lock(stats_mutex_);
    ++stats_.bad_http;
  }
  const ApiServerLimits& limits() const { return limits_; }
  void add_session(api_detail::HttpSession* s) { sessions_.insert(s); }
  void remove_session(api_detail::HttpSession* s) { sessions_.erase(s); }

 private:
  void accept_next();
  void on_accept(const error_code& ec, stream_protocol::socket socket);
  void close_all();
  void remove_socket_file();

  const std::string path_;
  ActionHandler& handler_;
  const ApiServerLimits limits_;
  const std::string thread_name_;  // the kernel's name for the server's thread

  // Live sessions, touched only on the server's thread (and by ~io_context after the thread
  // ended, which is why the set outlives io_).
  std::unordered_set<api_detail::HttpSession*> sessions_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  stream_protocol::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
  std::thread thread_;
  // The socket file this server created, so that it removes no other file at that path.
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;

  std::mutex stop_mutex_;
  bool stopped_ = false;

  mutable std::mutex stats_mutex_;
  ApiServerStats stats_;
};

namespace api_detail {

// One client connection: reads a request, answers it, and reads the next while the client
// keeps the connection alive. Owned by the completion handlers of its pending operation.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(stream_protocol::socket socket, ApiServer::Impl& server)
      : socket_(std::move(socket)), server_(server) {
    server_.add_session(this);
  }
  ~HttpSession() { server_.remove_session(this); }

  void start() { read_header(); }

  void close() {
    error_code ignored;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.limits().max_header_bytes));
    parser_->body_limit(server_.limits().max_body_bytes);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](const error_code& ec, size_t) { self->on_header(ec); });
  }

  void on_header(const error_code& ec) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    // A client that asks before sending its body (RFC 9110 section 10.1.1) is told to go on.
    const auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](const error_code& wec, size_t) {
                          if (wec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& ec, size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  void on_read_error(const error_code& ec) {
    // Not an HTTP error: the socket failed or was closed. end_of_stream: the client went away
    // between requests; partial_message: in the middle of one. Nobody is left to answer.
    const bool http_error = ec.category() == http::make_error_code(http::error::end_of_stream).category();
    if (!http_error || ec == http::error::end_of_stream || ec == http::error::partial_message) return close();
    server_.count_bad_http();
    if (ec == http::error::body_limit) return send_payload_too_large();
    if (ec == http::error::header_limit) {
      return send_and_close(400, "the request header is larger than the limit of " +
                                     std::to_string(server_.limits().max_header_bytes) + " bytes");
    }
    send_and_close(400, "malformed HTTP request: " + ec.message());
  }

  void on_request() {
    const auto& request = parser_->get();
    const ApiReply reply =
        server_.serve(to_std(request.method_string()), to_std(request.target()), request.body());
    send(reply, request.keep_alive());
  }

  void send_and_close(int status, const std::string& message) { send(reply_error(message, status), false); }

  // Firecracker's HTTP server (micro_http, server.rs and common/mod.rs) refuses a Content-Length
  // over --http-api-max-payload-size with 400 and this body, word for word, its raw newline
  // included (test_cmd_line_start.py's test_config_start_with_limit compares the answer byte for
  // byte). Beast has parsed the Content-Length when it refuses, so N is the size the client
  // announced. Firecracker's micro_http takes no chunked bodies at all; one that outgrows the
  // limit here announced no size and is reported as limit + 1 bytes (at least that many came).
  // Firecracker keeps the connection open, but its parser then reads the rest of the refused
  // body as the next request; ember closes it (its answer says "Connection: close").
  void send_payload_too_large() {
    const size_t limit = server_.limits().max_body_bytes;
    // From the header field, not parser_->content_length(): Beast refuses an announced size
    // while it finishes the header, before it counts the header as done (its accessor asserts).
    uint64_t size = static_cast<uint64_t>(limit) + 1;
    const auto announced = parser_->get()[http::field::content_length];
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(announced.data(), announced.data() + announced.size(), value);
    if (ec == std::errc() && end == announced.data() + announced.size() && !announced.empty()) size = value;
    ApiReply reply;
    reply.status = 400;
    reply.body = "{ \"error\": \"Request payload with size " + std::to_string(size) + " is larger than the limit of " +
                 std::to_string(limit) + " allowed by server.\nAll previous unanswered requests will be dropped.\" }";
    send(reply, false);
  }

  void send(const ApiReply& reply, bool keep_alive) {
    response_ = http::response<http::string_body>();
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::server, "ember");
    if (reply.deprecated) response_.set("Deprecation", "true");
    // 204 and 304 carry no body (RFC 9110 section 6.4.1).
    if (response_.result() != http::status::no_content && response_.result() != http::status::not_modified &&
        !reply.body.empty()) {
      response_.set(http::field::content_type, "application/json");
      response_.body() = reply.body;
    }
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this(), keep_alive](const error_code& ec, size_t) {
      if (ec || !keep_alive) return self->close();
      self->read_header();
    });
  }

  stream_protocol::socket socket_;
  ApiServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace api_detail

Result<void> ApiServer::Impl::listen() {
  if (path_.empty()) return make_error("the API socket path is empty");
  if (path_.size() >= sizeof(sockaddr_un::sun_path))
    return make_error("the API socket path '" + path_ + "' is too long (" + std::to_string(path_.size()) +
                      " bytes; a Unix socket path has at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                      ")");
  struct stat st {};
  // Firecracker's words, which its users and tests match (test_api_socket_in_use).
  if (::lstat(path_.c_str(), &st) == 0)
    return make_error("Failed to open the API socket at: " + path_ +
                      ". Check that it is not already used. (the path exists: remove it, or choose another path)");
  if (errno != ENOENT)
    return make_error("cannot use the API socket path '" + path_ + "': " + std::strerror(errno));

  error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec) set_cloexec(acceptor_.native_handle());
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path_), ec);
  if (ec) return make_error("cannot create the API socket '" + path_ + "': " + ec.message());
  if (::stat(path_.c_str(), &st) == 0) {
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    remove_socket_file();
    return make_error("cannot listen on the API socket '" + path_ + "': " + ec.message());
  }
  accept_next();
  return {};
}

Result<void> ApiServer::Impl::start_thread() {
  // The thread inherits the signal mask of its creator: block everything while creating it.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  std::promise<Result<void>> confined;
  std::future<Result<void>> confined_result = confined.get_future();
  thread_ = std::thread([this, confined = std::move(confined)]() mutable {
    log_set_thread_name("api");
    // The kernel's name for the thread (/proc/<pid>/task/<tid>/comm).
    pthread_setname_np(pthread_self(), thread_name_.c_str());
    // Confined before it accepts anything.
    auto filter = seccomp::install_thread_filter(seccomp::ThreadKind::kApi);
    const bool serving = filter.ok();
    confined.set_value(std::move(filter));
    if (!serving) return;
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // Only a bug gets here (handlers catch what they expect); keep serving the others.
        log_error(std::string("API server: ") + e.what());
      }
    }
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  Result<void> started = confined_result.get();
  if (!started) {
    thread_.join();
    return started.error();
  }
  return {};
}

void ApiServer::Impl::accept_next() {
  acceptor_.async_accept([this](const error_code& ec, stream_protocol::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void ApiServer::Impl::on_accept(const error_code& ec, stream_protocol::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors, most likely: wait a little rather than spin.
    log_warn("API server: accept failed: " + ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](const error_code& wait_ec) {
      if (!wait_ec) accept_next();
    });
    return;
  }
  set_cloexec(socket.native_handle());
  bool refused = false;
  {
    std::lock_guard lock(stats_mutex_);
    refused = sessions_.size() >= limits_.max_connections;
    ++(refused ? stats_.connections_refused : stats_.connections_accepted);
  }
  if (refused) {
    log_warn("API server: refusing a connection: " + std::to_string(limits_.max_connections) + " are open");
    error_code ignored;
    socket.close(ignored);
  } else {
    std::make_shared<api_detail::HttpSession>(std::move(socket), *this)->start();
  }
  accept_next();
}

ApiReply ApiServer::Impl::serve(std::string_view method, std::string_view target, std::string_view body) {
  const auto started = std::chrono::steady_clock::now();
  std::string endpoint = api_endpoint_name(method, target);
  if (endpoint.empty()) endpoint = "other";
  log_info(describe_request(method, target, body));

  ApiReply reply;
  std::string fault;  // the fault message of an error reply, for the outcome line
  auto parsed = parse_api_request_with_info(method, target, body);
  {
    std::lock_guard lock(stats_mutex_);
    count_api_request_received(&stats_, method, target, parsed.ok() ? &parsed->action : nullptr,
                               parsed.ok() && parsed->deprecation.has_value());
  }
  if (!parsed.ok()) {
    fault = parsed.error().message;
    reply = reply_error(fault, kApiBadRequestStatus);
  } else {
    try {
      const ActionResult result = handler_.handle(parsed->action);
      if (!result.ok()) fault = result.error().message;
      reply = to_reply(result);
    } catch (const std::exception& e) {
      log_error("API handler failed on " + endpoint + ": " + e.what());
      fault = std::string("internal error: ") + e.what();
      reply = reply_error(fault, 500);
    }
    // As Firecracker: the warning and the header whether the action succeeded or not.
    if (parsed->deprecation) {
      log_warn(*parsed->deprecation);
      reply.deprecated = true;
    }
  }
  // Firecracker's outcome lines, which its users and tests match.
  const std::string status_text = std::to_string(reply.status) + " " + std::string(reason_phrase(reply.status));
  if (reply.status >= 400) {
    log_error("Received Error. Status code: " + status_text + ". Message: " + fault);
  } else {
    log_info("The request was executed successfully. Status code: " + status_text + ".");
  }

  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  std::lock_guard lock(stats_mutex_);
  count_api_request_answered(&stats_, {endpoint, parsed.ok() ? &parsed->action : nullptr, reply.status,
                                       static_cast<uint64_t>(latency.count())});
  return reply;
}

void ApiServer::Impl::close_all() {
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  for (api_detail::HttpSession* s : sessions_) s->close();
  work_.reset();
  io_.stop();
}

void ApiServer::Impl::stop() {
  std::lock_guard lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    CHECK_MSG(std::this_thread::get_id() != thread_.get_id(), "ApiServer::stop() called from the API thread");
    asio::post(io_, [this] { close_all(); });
    thread_.join();
  } else {
    close_all();
  }
  remove_socket_file();
}

void ApiServer::Impl::remove_socket_file() {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_) {
    ::unlink(path_.c_str());
  }
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::start(const std::string& socket_path, ActionHandler& handler,
                                                    ApiServerLimits limits, std::string thread_name) {
  auto impl = std::make_unique<Impl>(socket_path, handler, limits, std::move(thread_name));
  TRY(impl->listen());
  TRY(impl->start_thread());
  return std::make_unique<ApiServer>(std::move(impl));
}

void ApiServer::stop() { impl_->stop(); }

ApiServerStats ApiServer::stats() const { return impl_->stats(); }


const std::string& ApiServer::socket_path() const { return impl_->path(); }

}  // namespace ember
