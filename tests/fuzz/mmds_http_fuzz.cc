// libFuzzer target: arbitrary bytes as what a guest sends on one MMDS connection, handed to the
// HTTP service (mmds/http_service.h) the way a TCP connection does (mmds/net/): in chunks, the
// unanswered bytes kept in a buffer of the connection's size, `full` once it is full. The store
// holds every JSON type; "@T" in the input stands for a valid V2 token, so the fuzzer reaches
// the answers behind the token check. Checked on every answer: it consumes at least one byte
// and no more than it was given, it is an HTTP/1.x response whose Content-Length is its body's
// length, and a full buffer is always answered.
//
// Input layout: u8 mode (bit 0: V2; bit 1: imds_compat; bits 2..7: chunk size - 1), then the
// connection's bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "mmds/counters.h"
#include "mmds/data_store.h"
#include "mmds/http_service.h"

namespace {

// The TCP stack's receive buffer (mmds/net/tcp_connection.h: Firecracker's 2500 bytes).
constexpr size_t kBufferBytes = 2500;

void check_response(const std::string& r) {
  if (!r.starts_with("HTTP/1.")) abort();
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string::npos) abort();
  const size_t at = r.find("\r\nContent-Length: ");
  if (at == std::string::npos || at > end) abort();
  const size_t length = std::strtoul(r.c_str() + at + 18, nullptr, 10);
  if (r.size() - (end + 4) != length) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ember::MmdsDataStore store(4096);
  (void)store.put(nlohmann::json::parse(
      R"({"latest": {"meta-data": {"ami-id": "ami-1", "n": 1, "f": 1.5, "b": true, "z": null,
          "a": ["x", {"y": "z"}], "e": {}, "~/": "escaped"}}, "s": "top"})"));
  store.configure((mode & 1) ? ember::MmdsVersion::kV2 : ember::MmdsVersion::kV1, (mode & 2) != 0);
  auto token = store.generate_token(60);
  if (!token) abort();
  ember::MmdsCounterSet counters;
  ember::MmdsHttpService service(store, counters);

  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  for (size_t at; (at = input.find("@T")) != std::string::npos;) input.replace(at, 2, *token);
  const size_t chunk = static_cast<size_t>(mode >> 2) + 1;

  std::string buffer;
  size_t fed = 0;
  // Each round either takes bytes or answers, so the loop ends.
  for (int round = 0; round < 100000; ++round) {
    const bool full = buffer.size() >= kBufferBytes;
    const ember::HttpExchange ex = service.respond(buffer, full);
    if (ex.status == ember::HttpExchange::Status::kAnswered) {
      if (ex.consumed == 0 || ex.consumed > buffer.size()) abort();
      check_response(ex.response);
      buffer.erase(0, ex.consumed);
      if (ex.close) return 0;
      continue;
    }
    if (full) abort();  // a full buffer must be answered
    if (fed == input.size()) return 0;
    const size_t n = std::min({chunk, input.size() - fed, kBufferBytes - buffer.size()});
    buffer.append(input, fed, n);
    fed += n;
  }
  abort();  // no progress
}
