#include "mmds/http_service.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

namespace ember {

namespace http = boost::beast::http;

namespace {

// Firecracker's paths, header names (token_headers.rs) and texts (mod.rs, micro_http).
constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::array<std::string_view, 2> kTokenHeaders = {"X-metadata-token",
                                                           "X-aws-ec2-metadata-token"};
constexpr std::array<std::string_view, 2> kTtlHeaders = {"X-metadata-token-ttl-seconds",
                                                         "X-aws-ec2-metadata-token-ttl-seconds"};
constexpr std::array<std::string_view, 1> kForwardedForHeader = {"X-Forwarded-For"};
constexpr std::string_view kTextPlain = "text/plain";
constexpr std::string_view kApplicationJson = "application/json";
constexpr std::string_view kNoTokenProvided =
    "No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to "
    "specify the session token.";
constexpr std::string_view kInvalidToken = "MMDS token not valid.";
constexpr std::string_view kNoTtlProvided =
    "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "
    "`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.";
constexpr std::string_view kInvalidRequest = "Invalid request.";

using Request = http::request<http::string_body>;

struct Reply {
  unsigned version = 11;  // the request's: 10 or 11
  unsigned status = 200;
  // micro_http's default content type is application/json: Firecracker's endpoint leaves it so
  // for the answers to requests it cannot parse, and sets text/plain or JSON for the others.
  std::string_view content_type = kApplicationJson;
  std::string body;
  bool allow_get_put = false;
  std::pair<std::string, std::string> custom;  // one extra header, when its name is not empty
};

// micro_http's Response::write_all: no reason phrase (the status code is followed by a space),
// then Server, Connection, Allow, custom headers, Content-Type, Content-Length.
std::string to_wire(const Reply& reply, bool close) {
  std::string out = reply.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(reply.status);
  out += " \r\nServer: Firecracker API\r\n";
  // Firecracker always writes keep-alive and never closes; ember says close when it will.
  out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  if (reply.allow_get_put) out += "Allow: GET, PUT\r\n";
  if (!reply.custom.first.empty()) out += reply.custom.first + ": " + reply.custom.second + "\r\n";
  out += "Content-Type: ";
  out += reply.content_type;
  out += "\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
  out += reply.body;
  return out;
}

Reply text_reply(unsigned version, unsigned status, std::string body) {
  return Reply{version, status, kTextPlain, std::move(body), false, {}};
}

// An answer to bytes that are not a request Firecracker would take (its endpoint's
// parse_request_bytes): HTTP/1.1 and micro_http's default content type.
Reply parse_error_reply(unsigned status, std::string_view body) {
  return Reply{11, status, kApplicationJson, std::string(body), false, {}};
}

std::string_view to_std(boost::beast::string_view s) { return {s.data(), s.size()}; }

// Header names compare in ASCII case only (RFC 9110 §5.1), as Firecracker's
// eq_ignore_ascii_case: Beast's iequals.
bool iequals(std::string_view a, std::string_view b) {
  return boost::beast::iequals(boost::beast::string_view(a.data(), a.size()),
                               boost::beast::string_view(b.data(), b.size()));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct Field {
  std::string_view name;  // as the client spelled it
  std::string_view value;
};

// The field with one of `names` (any case). micro_http keeps the last of repeated fields.
template <size_t N>
std::optional<Field> find_field(const Request& request,
                                const std::array<std::string_view, N>& names) {
  std::optional<Field> found;
  for (const auto& field : request) {
    std::string_view name = to_std(field.name_string());
    for (std::string_view wanted : names)
      if (iequals(name, wanted)) found = Field{name, trim(to_std(field.value()))};
  }
  return found;
}

// micro_http's Uri::get_abs_path: "http://host/path" gives "/path", "/path" itself, anything
// else (no path at all) "".
std::string_view abs_path(std::string_view target) {
  constexpr std::string_view kScheme = "http://";
  if (target.substr(0, kScheme.size()) == kScheme) {
    std::string_view rest = target.substr(kScheme.size());
    size_t slash = rest.find('/');
    return slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  return !target.empty() && target.front() == '/' ? target : std::string_view();
}

// Firecracker's sanitize_uri: every run of '/' becomes one.
std::string collapse_slashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path)
    if (c != '/' || out.empty() || out.back() != '/') out.push_back(c);
  return out;
}

// micro_http takes Accept only when it is exactly (less spaces) one of its two media types;
// anything else, "*/*" included, leaves its default, text/plain.
std::string_view accepted_type(const Request& request) {
  std::string_view type = kTextPlain;
  for (const auto& field : request) {
    if (!iequals(to_std(field.name_string()), std::string_view("Accept"))) continue;
    std::string_view value = trim(to_std(field.value()));
    if (value == kTextPlain || value == kApplicationJson) type = value;
  }
  return type;
}

// Rust's u32::from_str, which Firecracker parses the ttl with: an optional '+', then decimal
// digits only, no overflow.
std::optional<uint32_t> parse_u32(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > UINT32_MAX) return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

// Whether the request line (up to the first CRLF) has a method, a target and a version
// separated by spaces, as micro_http's parse_request_line asks.
bool has_three_parts(std::string_view bytes) {
  std::string_view line = bytes.substr(0, bytes.find("\r\n"));
  size_t first = line.find(' ');
  return first != std::string_view::npos && line.find(' ', first + 1) != std::string_view::npos;
}

}  // namespace

MmdsHttpService::MmdsHttpService(MmdsDataStore& store, MmdsCounterSet& counters)
    : store_(store), counters_(counters) {}

namespace {

class RequestHandler {
 public:
  RequestHandler(MmdsDataStore& store, MmdsCounterSet& counters, const Request& request)
      : store_(store), counters_(counters), request_(request), version_(request.version()) {}

  // Firecracker's convert_to_response.
  Reply respond() {
    path_ = abs_path(to_std(request_.target()));
    if (path_.empty()) return text_reply(version_, 400, "Invalid URI.");
    switch (request_.method()) {
      case http::verb::get:
        return store_.version() == MmdsVersion::kV1 ? get_v1() : get_v2();
      case http::verb::put:
        return put();
      default: {
        Reply reply = text_reply(version_, 405, "Not allowed HTTP method.");
        reply.allow_get_put = true;
        return reply;
      }
    }
  }

 private:
  Reply get_v1() {
    // V1 answers regardless; the counters tell the host how many guests would fail under V2.
    if (auto token = find_field(request_, kTokenHeaders)) {
      if (!store_.is_valid_token(token->value)) counters_.add(&MmdsCounters::rx_invalid_token);
    } else {
      counters_.add(&MmdsCounters::rx_no_token);
    }
    return get_value();
  }

  Reply get_v2() {
    auto token = find_field(request_, kTokenHeaders);
    if (!token) {
      counters_.add(&MmdsCounters::rx_no_token);
      return text_reply(version_, 401, std::string(kNoTokenProvided));
    }
    if (!store_.is_valid_token(token->value)) {
      counters_.add(&MmdsCounters::rx_invalid_token);
      return text_reply(version_, 401, std::string(kInvalidToken));
    }
    return get_value();
  }

  Reply get_value() {
    std::string_view type = accepted_type(request_);
    auto value = store_.get_value(collapse_slashes(path_),
                                  type == kApplicationJson ? MmdsFormat::kJson : MmdsFormat::kImds);
    // Firecracker labels the answer with the type asked for, even where imds_compat wrote text.
    if (value.ok()) return Reply{version_, 200, type, std::move(value).value(), false, {}};
    if (is_mmds_not_found(value.error())) return not_found();
    if (is_mmds_unsupported_type(value.error()))
      return text_reply(version_, 501, value.error().message);
    return text_reply(version_, 500, value.error().message);
  }

  Reply put() {
    // A token must not be handed out through a proxy on the guest (EC2 IMDS's rule).
    if (auto forwarded = find_field(request_, kForwardedForHeader)) {
      return text_reply(
          version_, 400,
          "Invalid header. Reason: Unsupported header name. Key: " + std::string(forwarded->name));
    }
    if (collapse_slashes(path_) != kTokenPath) return not_found();
    auto ttl_field = find_field(request_, kTtlHeaders);
    if (!ttl_field) return text_reply(version_, 400, std::string(kNoTtlProvided));
    auto ttl = parse_u32(ttl_field->value);
    if (!ttl) {
      return text_reply(
          version_, 400,
          "Invalid header. Reason: Invalid value. Key:" + std::string(ttl_field->name) +
              "; Value:" + std::string(ttl_field->value));
    }
    auto token = store_.generate_token(*ttl);
    if (!token.ok()) return text_reply(version_, 400, token.error().message);
    Reply reply = text_reply(version_, 200, std::move(token).value());
    reply.custom = {std::string(ttl_field->name), std::to_string(*ttl)};
    return reply;
  }

  Reply not_found() const {
    return text_reply(version_, 404, "Resource not found: " + std::string(path_) + ".");
  }

  MmdsDataStore& store_;
  MmdsCounterSet& counters_;
  const Request& request_;
  unsigned version_;
  std::string_view path_;
};

HttpExchange answer(const Reply& reply, size_t consumed, bool close) {
  HttpExchange exchange;
  exchange.status = HttpExchange::Status::kAnswered;
  exchange.consumed = consumed;
  exchange.response = to_wire(reply, close);
  exchange.close = close;
  return exchange;
}

}  // namespace

HttpExchange MmdsHttpService::respond(std::string_view bytes, bool full) {
  // A fresh parser over everything not yet answered: requests are small, so parsing a partial
  // one again when more bytes arrive costs little and keeps no state between calls.
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(kMaxHeaderBytes));
  parser.eager(false);  // stop after the header: a body is refused, never read

  size_t used = 0;
  boost::system::error_code ec;
  while (!parser.is_header_done()) {
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more || (!ec && n == 0)) {
      if (!full) return HttpExchange{};  // kNeedMore
      // The connection can hold no more and the request is still not whole.
      return answer(parse_error_reply(400, kInvalidRequest), bytes.size(), true);
    }
    if (ec == http::error::header_limit) {
      return answer(parse_error_reply(413, "Request headers are larger than the limit of " +
                                               std::to_string(kMaxHeaderBytes) +
                                               " bytes allowed by the MMDS."),
                    bytes.size(), true);
    }
    // micro_http first splits the request line into three parts ("Invalid request." when it
    // cannot), then judges the method and the version (501).
    if ((ec == http::error::bad_method || ec == http::error::bad_version) &&
        has_three_parts(bytes)) {
      return answer(
          parse_error_reply(501, ec == http::error::bad_method ? "Unsupported HTTP method."
                                                               : "Unsupported HTTP version."),
          bytes.size(), true);
    }
    if (ec) return answer(parse_error_reply(400, kInvalidRequest), bytes.size(), true);
  }

  const Request& request = parser.get();
  // micro_http knows GET, PUT, PATCH and DELETE only, and HTTP/1.0 and 1.1 (method first).
  switch (request.method()) {
    case http::verb::get:
    case http::verb::put:
    case http::verb::patch:
    case http::verb::delete_:
      break;
    default:
      return answer(parse_error_reply(501, "Unsupported HTTP method."), bytes.size(), true);
  }
  if (request.version() != 10 && request.version() != 11)
    return answer(parse_error_reply(501, "Unsupported HTTP version."), bytes.size(), true);
  // Firecracker's endpoint reads a request up to its blank line, so a body never arrives with
  // it (micro_http then finds the announced body missing: "Invalid request.").
  if (parser.chunked() || parser.content_length().value_or(0) > 0)
    return answer(parse_error_reply(400, kInvalidRequest), bytes.size(), true);

  Reply reply = RequestHandler(store_, counters_, request).respond();
  return answer(reply, used, !request.keep_alive());
}

}  // namespace ember
