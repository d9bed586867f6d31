// The metadata service's HTTP side: one request in, Firecracker's answer out, as its
// `convert_to_response` (src/vmm/src/mmds/mod.rs) and its TCP endpoint's parse-error answers
// (src/vmm/src/dumbo/tcp/endpoint.rs) give them, in micro_http's wire format (status line
// without a reason phrase, `Server: Firecracker API`, `Connection`, then `Allow`, custom
// headers, `Content-Type`, `Content-Length`).
//
// - GET, V1: answered; a missing or unknown token only counts (rx_no_token, rx_invalid_token).
// - GET, V2: 401 without a valid token (X-metadata-token or X-aws-ec2-metadata-token).
// - PUT /latest/api/token with X-metadata-token-ttl-seconds (or X-aws-ec2-...): a new token,
//   the ttl header echoed; X-Forwarded-For is refused (the token must not be fetched through a
//   proxy); other paths 404.
// - PATCH, DELETE: 405 with `Allow: GET, PUT`; a method micro_http does not know (POST, HEAD,
//   ...): 501, as Firecracker's parser refuses it.
// - Accept: application/json gives JSON, anything else EC2 IMDS text.
//
// Parsing is Beast's (request_parser). Limits: the header block (request line included) at most
// kMaxHeaderBytes, so a request is a few KiB at most, as Firecracker's endpoint takes requests
// of under 2500 bytes (RCV_BUF_MAX_SIZE) and the TCP side buffers no more than that per
// connection; a request with a body is refused (400), as Firecracker's endpoint can never read
// one. Malformed bytes, an unsupported HTTP version, an oversize header or a request still
// incomplete when the connection is full are answered with an error and the connection closed.
// HTTP/1.1 keep-alive: several requests on one connection each get an answer in order;
// `Connection: close` or HTTP/1.0 (without keep-alive) closes after the answer.
#pragma once

#include <cstddef>
#include <string_view>

#include "mmds/counters.h"
#include "mmds/data_store.h"
#include "mmds/http_responder.h"

namespace ember {

class MmdsHttpService final : public HttpResponder {
 public:
  static constexpr size_t kMaxHeaderBytes = 4096;

  MmdsHttpService(MmdsDataStore& store, MmdsCounterSet& counters);

  [[nodiscard]] HttpExchange respond(std::string_view bytes, bool full) override;

 private:
  MmdsDataStore& store_;
  MmdsCounterSet& counters_;
};

}  // namespace ember
