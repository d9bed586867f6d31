// Between the metadata service's TCP connections (mmds/net/) and its HTTP semantics
// (mmds/http_service.h): a connection hands over the bytes the guest sent, in order, and gets
// back either "not a whole request yet" or the whole response to send.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ember {

struct HttpExchange {
  enum class Status {
    kNeedMore,  // `bytes` is the start of a request: wait for more
    kAnswered,  // `response` answers the request that filled the first `consumed` bytes
  };
  Status status = Status::kNeedMore;
  size_t consumed = 0;
  std::string response;  // status line, headers and body, ready for the wire
  bool close = false;    // close the connection once the response is sent
};

class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // `bytes`: what the guest sent on one connection and no answer has consumed yet. `full`:
  // the connection can hold no more, so a request still incomplete must be answered now (an
  // error) rather than waited for.
  [[nodiscard]] virtual HttpExchange respond(std::string_view bytes, bool full) = 0;
};

}  // namespace ember
