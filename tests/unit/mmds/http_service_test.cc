#include "mmds/http_service.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ember {
namespace {

using nlohmann::json;

class FakeClock final : public MonotonicClock {
 public:
  [[nodiscard]] uint64_t now_ns() const override { return now; }
  uint64_t now = 7'000'000'000;
};

struct Parsed {
  std::string status_line;
  int status = 0;
  std::map<std::string, std::string> headers;
  std::vector<std::string> header_order;
  std::string body;
};

Parsed parse(const std::string& wire) {
  Parsed p;
  size_t end = wire.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos) << wire;
  if (end == std::string::npos) return p;
  std::string head = wire.substr(0, end);
  p.body = wire.substr(end + 4);
  size_t line_end = head.find("\r\n");
  p.status_line = head.substr(0, line_end);
  p.status = std::stoi(p.status_line.substr(9, 3));
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    size_t colon = line.find(": ");
    p.headers[line.substr(0, colon)] = line.substr(colon + 2);
    p.header_order.push_back(line.substr(0, colon));
    pos = next + 2;
  }
  EXPECT_EQ(p.headers["Content-Length"], std::to_string(p.body.size()));
  return p;
}

constexpr const char* kNoToken =
    "No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to "
    "specify the session token.";
constexpr const char* kNoTtl =
    "Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "
    "`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime.";
constexpr const char* kJsonData =
    R"({"age":43,"name":{"first":"John","second":"Doe"},)"
    R"("phones":{"home":{"RO":"+401234567","UK":"+441234567"},"mobile":"+442345678"}})";

class MmdsHttpServiceTest : public ::testing::Test {
 protected:
  MmdsHttpServiceTest()
      : store_(MmdsDataStore::kDefaultSizeLimit, clock_), service_(store_, counters_) {
    // Firecracker's populate_mmds.
    EXPECT_TRUE(store_.put(json::parse(kJsonData)).ok());
  }

  HttpExchange exchange(const std::string& request, bool full = false) {
    return service_.respond(request, full);
  }
  // One whole request: answered, all of it consumed.
  Parsed send(const std::string& request) {
    HttpExchange ex = exchange(request);
    EXPECT_EQ(ex.status, HttpExchange::Status::kAnswered) << request;
    EXPECT_EQ(ex.consumed, request.size()) << request;
    last_close_ = ex.close;
    return parse(ex.response);
  }
  std::string new_token(uint32_t ttl = 60) {
    Parsed p = send(
        "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
        "X-metadata-token-ttl-seconds: " +
        std::to_string(ttl) + "\r\n\r\n");
    EXPECT_EQ(p.status, 200) << p.body;
    return p.body;
  }
  uint64_t count(uint64_t MmdsCounters::*field) const { return counters_.get(field); }

  FakeClock clock_;
  MmdsDataStore store_;
  MmdsCounterSet counters_;
  MmdsHttpService service_;
  bool last_close_ = false;
};

TEST_F(MmdsHttpServiceTest, WireFormatIsMicroHttps) {
  HttpExchange ex = exchange("GET / HTTP/1.1\r\nAccept: application/json\r\n\r\n");
  EXPECT_EQ(ex.response,
            std::string("HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
                        "Content-Type: application/json\r\nContent-Length: ") +
                std::to_string(std::string(kJsonData).size()) + "\r\n\r\n" + kJsonData);
  EXPECT_FALSE(ex.close);
  ex = exchange("PATCH / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ex.response,
            "HTTP/1.1 405 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
            "Allow: GET, PUT\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\n"
            "Not allowed HTTP method.");
}

// Firecracker's test_request_accept_header.
TEST_F(MmdsHttpServiceTest, AcceptHeaderPicksTheFormat) {
  for (const char* accept : {"", "Accept:\r\n", "Accept: */*\r\n", "Accept: text/plain\r\n",
                             "accept:   text/plain  \r\n", "Accept: application/json;q=1\r\n"}) {
    Parsed p = send(std::string("GET http://169.254.169.254/ HTTP/1.0\r\n") + accept + "\r\n");
    EXPECT_EQ(p.status_line, "HTTP/1.0 200 ") << accept;
    EXPECT_EQ(p.headers["Content-Type"], "text/plain") << accept;
    EXPECT_EQ(p.body, "age\nname/\nphones/") << accept;
  }
  for (const char* accept : {"Accept: application/json\r\n", "ACCEPT: application/json \r\n"}) {
    Parsed p = send(std::string("GET http://169.254.169.254/ HTTP/1.0\r\n") + accept + "\r\n");
    EXPECT_EQ(p.headers["Content-Type"], "application/json");
    EXPECT_EQ(p.body, kJsonData);
  }
}

// Firecracker's test_convert_to_response_negative, both versions.
TEST_F(MmdsHttpServiceTest, InvalidUriAndMethodNotAllowed) {
  for (MmdsVersion version : {MmdsVersion::kV1, MmdsVersion::kV2}) {
    store_.configure(version, false);
    for (const char* target : {"http://", "http://169.254.169.254", "*", "latest"}) {
      Parsed p = send(std::string("GET ") + target + " HTTP/1.0\r\n\r\n");
      EXPECT_EQ(p.status, 400) << target;
      EXPECT_EQ(p.headers["Content-Type"], "text/plain");
      EXPECT_EQ(p.body, "Invalid URI.");
    }
    for (const char* method : {"PATCH", "DELETE"}) {
      Parsed p = send(std::string(method) + " http://169.254.169.255/ HTTP/1.0\r\n\r\n");
      EXPECT_EQ(p.status_line, "HTTP/1.0 405 ");
      EXPECT_EQ(p.headers["Allow"], "GET, PUT");
      EXPECT_EQ(p.body, "Not allowed HTTP method.");
    }
    // Methods micro_http does not parse at all.
    for (const char* method : {"POST", "HEAD", "OPTIONS", "FOO", "get"}) {
      Parsed p = send(std::string(method) + " / HTTP/1.1\r\n\r\n");
      EXPECT_EQ(p.status, 501) << method;
      EXPECT_EQ(p.body, "Unsupported HTTP method.") << method;
      EXPECT_TRUE(last_close_);
    }
  }
}

// Firecracker's test_respond_to_request_mmdsv1.
TEST_F(MmdsHttpServiceTest, V1AnswersAndCountsTokens) {
  Parsed p = send("GET http://169.254.169.254/ HTTP/1.0\r\nAccept: application/json\r\n\r\n");
  EXPECT_EQ(p.body, kJsonData);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token), 1u);
  EXPECT_EQ(count(&MmdsCounters::rx_invalid_token), 0u);

  std::string token = new_token();
  p = send("GET / HTTP/1.0\r\nAccept: application/json\r\nX-metadata-token: " + token + "\r\n\r\n");
  EXPECT_EQ(p.body, kJsonData);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token), 1u);
  EXPECT_EQ(count(&MmdsCounters::rx_invalid_token), 0u);

  p = send(
      "GET / HTTP/1.0\r\nAccept: application/json\r\nX-aws-ec2-metadata-token: "
      "INVALID_TOKEN\r\n\r\n");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, kJsonData);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token), 1u);
  EXPECT_EQ(count(&MmdsCounters::rx_invalid_token), 1u);
}

// Firecracker's test_respond_to_request_mmdsv2, with the clock moved instead of slept.
TEST_F(MmdsHttpServiceTest, V2NeedsAValidToken) {
  store_.configure(MmdsVersion::kV2, false);
  std::string token = new_token();
  Parsed p = send(
      "GET http://169.254.169.254/ HTTP/1.0\r\nAccept: application/json\r\n"
      "X-metadata-token: " +
      token + "\r\n\r\n");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, kJsonData);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token) + count(&MmdsCounters::rx_invalid_token), 0u);
  // Header names in any case; the value trimmed.
  p = send("GET /name/first HTTP/1.1\r\nx-AWS-ec2-METADATA-token:  " + token + " \r\n\r\n");
  EXPECT_EQ(p.body, "John");

  p = send("GET http://169.254.169.254/ HTTP/1.0\r\n\r\n");
  EXPECT_EQ(p.status_line, "HTTP/1.0 401 ");
  EXPECT_EQ(p.headers["Content-Type"], "text/plain");
  EXPECT_EQ(p.body, kNoToken);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token), 1u);

  std::string expiring = new_token(1);
  EXPECT_EQ(send("GET / HTTP/1.1\r\nX-metadata-token: " + expiring + "\r\n\r\n").status, 200);
  clock_.now += 1'000'000'000;
  for (const std::string& bad : {std::string("INVALID_TOKEN"), expiring, std::string(71, 'A')}) {
    p = send("GET / HTTP/1.0\r\nX-metadata-token: " + bad + "\r\n\r\n");
    EXPECT_EQ(p.status, 401);
    EXPECT_EQ(p.body, "MMDS token not valid.");
  }
  EXPECT_EQ(count(&MmdsCounters::rx_invalid_token), 3u);
  EXPECT_EQ(count(&MmdsCounters::rx_no_token), 1u);
  // The token is checked before the path.
  EXPECT_EQ(send("GET /nothing HTTP/1.1\r\n\r\n").status, 401);
}

// Firecracker's test_respond_to_get_request, both versions.
TEST_F(MmdsHttpServiceTest, GetPathsAndErrors) {
  for (MmdsVersion version : {MmdsVersion::kV1, MmdsVersion::kV2}) {
    store_.configure(version, false);
    std::string auth = "X-metadata-token: " + new_token() + "\r\n";
    Parsed p = send("GET http://169.254.169.254/invalid HTTP/1.0\r\n" + auth + "\r\n");
    EXPECT_EQ(p.status, 404);
    EXPECT_EQ(p.headers["Content-Type"], "text/plain");
    EXPECT_EQ(p.body, "Resource not found: /invalid.");
    // The message names the path as sent, before "//" is collapsed.
    p = send("GET //name//nope HTTP/1.1\r\n" + auth + "\r\n");
    EXPECT_EQ(p.body, "Resource not found: //name//nope.");

    p = send("GET /age HTTP/1.1\r\n" + auth + "\r\n");
    EXPECT_EQ(p.status_line, "HTTP/1.1 501 ");
    EXPECT_EQ(p.headers["Content-Type"], "text/plain");
    EXPECT_EQ(p.body, "Cannot retrieve value. The value has an unsupported type.");

    // A ttl header on a GET is ignored.
    p = send("GET http://169.254.169.254/ HTTP/1.0\r\n" + auth +
             "X-metadata-token-ttl-seconds: application/json\r\n\r\n");
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.body, "age\nname/\nphones/");

    // "//" collapsed, one trailing "/" dropped, absolute and origin forms alike.
    for (const char* target :
         {"/phones/home/UK", "//phones///home//UK/", "http://169.254.169.254/phones/home/UK",
          "http://169.254.169.254:80//phones/home/UK/"}) {
      p = send(std::string("GET ") + target + " HTTP/1.1\r\n" + auth + "\r\n");
      EXPECT_EQ(p.status, 200) << target;
      EXPECT_EQ(p.body, "+441234567") << target;
    }
    p = send("GET /phones/ HTTP/1.1\r\n" + auth + "\r\n");
    EXPECT_EQ(p.body, "home/\nmobile");
  }
}

TEST_F(MmdsHttpServiceTest, ImdsCompatWritesTextWhateverTheAccept) {
  store_.configure(MmdsVersion::kV1, true);
  Parsed p = send("GET /name HTTP/1.1\r\nAccept: application/json\r\n\r\n");
  EXPECT_EQ(p.status, 200);
  // Firecracker labels it with the type asked for.
  EXPECT_EQ(p.headers["Content-Type"], "application/json");
  EXPECT_EQ(p.body, "first\nsecond");
}

// Firecracker's test_respond_to_put_request, both versions.
TEST_F(MmdsHttpServiceTest, PutToken) {
  for (MmdsVersion version : {MmdsVersion::kV1, MmdsVersion::kV2}) {
    store_.configure(version, false);
    HttpExchange ex = exchange(
        "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
        "X-metadata-token-ttl-seconds: 60\r\n\r\n");
    Parsed p = parse(ex.response);
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.headers["Content-Type"], "text/plain");
    EXPECT_EQ(p.headers["X-metadata-token-ttl-seconds"], "60");
    EXPECT_EQ(p.header_order,
              (std::vector<std::string>{"Server", "Connection", "X-metadata-token-ttl-seconds",
                                        "Content-Type", "Content-Length"}));
    EXPECT_TRUE(store_.is_valid_token(p.body));

    // The other header name, any case, echoed as sent; "+" and "//" as Firecracker takes them.
    p = send(
        "PUT //latest//api/token HTTP/1.1\r\nx-aws-EC2-metadata-token-ttl-seconds: +21600"
        "\r\n\r\n");
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.headers["x-aws-EC2-metadata-token-ttl-seconds"], "21600");
    EXPECT_TRUE(store_.is_valid_token(p.body));

    for (const char* header : {"X-Forwarded-For", "x-forwarded-for", "X-fOrWaRdEd-FoR"}) {
      p = send(std::string("PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n") + header +
               ": 203.0.113.195\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n");
      EXPECT_EQ(p.status, 400);
      EXPECT_EQ(p.headers["Content-Type"], "text/plain");
      EXPECT_EQ(p.body,
                std::string("Invalid header. Reason: Unsupported header name. Key: ") + header);
    }
    // X-Forwarded-For is refused before the path is looked at.
    EXPECT_EQ(send("PUT / HTTP/1.1\r\nX-Forwarded-For: foo\r\n\r\n").status, 400);

    for (const char* path : {"/token", "/latest/api/toke", "/latest/api/token/"}) {
      p = send(std::string("PUT http://169.254.169.254") + path +
               " HTTP/1.0\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n");
      EXPECT_EQ(p.status, 404) << path;
      EXPECT_EQ(p.body, std::string("Resource not found: ") + path + ".");
    }

    for (const char* value : {"application/json", "abc", "-1", "4294967296", "6 0", "0x10", "+"}) {
      p = send(std::string("PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
                           "X-metadata-token-ttl-seconds: ") +
               value + "\r\n\r\n");
      EXPECT_EQ(p.status, 400) << value;
      EXPECT_EQ(p.body, std::string("Invalid header. Reason: Invalid value. "
                                    "Key:X-metadata-token-ttl-seconds; Value:") +
                            value);
    }
    for (uint32_t ttl : {0u, 21601u, 4294967295u}) {
      p = send(
          "PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n"
          "X-metadata-token-ttl-seconds: " +
          std::to_string(ttl) + "\r\n\r\n");
      EXPECT_EQ(p.status, 400);
      EXPECT_EQ(p.body, "Invalid time to live value provided for token: " + std::to_string(ttl) +
                            ". Please provide a value between 1 and 21600.");
    }
    p = send("PUT http://169.254.169.254/latest/api/token HTTP/1.0\r\n\r\n");
    EXPECT_EQ(p.status, 400);
    EXPECT_EQ(p.body, kNoTtl);
  }
}

TEST_F(MmdsHttpServiceTest, KeepAliveAndClose) {
  send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(last_close_);
  send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(last_close_);
  Parsed p = send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(last_close_);
  EXPECT_EQ(p.headers["Connection"], "close");
  send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_FALSE(last_close_);
}

TEST_F(MmdsHttpServiceTest, PipelinedRequestsEachGetAnAnswer) {
  const std::string first = "GET /name/first HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n";
  const std::string second =
      "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n";
  const std::string third = "GET /name/second HTTP/1.1\r\nConnection: close\r\n\r\n";
  const std::string fourth_part = "GET /age HTTP/1.1\r\n";
  std::string bytes = first + second + third + fourth_part;

  HttpExchange ex = exchange(bytes);
  ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
  EXPECT_EQ(ex.consumed, first.size());
  EXPECT_EQ(parse(ex.response).body, "John");
  EXPECT_FALSE(ex.close);
  bytes.erase(0, ex.consumed);

  ex = exchange(bytes);
  ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
  EXPECT_EQ(ex.consumed, second.size());
  EXPECT_TRUE(store_.is_valid_token(parse(ex.response).body));
  bytes.erase(0, ex.consumed);

  ex = exchange(bytes);
  ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
  EXPECT_EQ(ex.consumed, third.size());
  EXPECT_EQ(parse(ex.response).body, "Doe");
  EXPECT_TRUE(ex.close);
  bytes.erase(0, ex.consumed);

  EXPECT_EQ(exchange(bytes).status, HttpExchange::Status::kNeedMore);
}

// The header limit is per request: many small pipelined requests may fill more than it.
TEST_F(MmdsHttpServiceTest, ManyPipelinedRequestsBeyondTheHeaderLimit) {
  const std::string one =
      "GET /name/first HTTP/1.1\r\nX-Pad: " + std::string(100, 'p') + "\r\n\r\n";
  std::string bytes;
  while (bytes.size() < 3 * MmdsHttpService::kMaxHeaderBytes) bytes += one;
  size_t answered = 0;
  while (!bytes.empty()) {
    HttpExchange ex = exchange(bytes, true);
    ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
    ASSERT_EQ(ex.consumed, one.size());
    EXPECT_FALSE(ex.close);
    EXPECT_EQ(parse(ex.response).body, "John");
    bytes.erase(0, ex.consumed);
    ++answered;
  }
  EXPECT_GT(answered, 3 * MmdsHttpService::kMaxHeaderBytes / one.size());
}

TEST_F(MmdsHttpServiceTest, PartialRequestsWaitUntilTheBufferIsFull) {
  const std::string request = "GET /name/first HTTP/1.1\r\nAccept: text/plain\r\n\r\n";
  for (size_t n = 0; n < request.size(); ++n) {
    HttpExchange ex = exchange(request.substr(0, n));
    EXPECT_EQ(ex.status, HttpExchange::Status::kNeedMore) << n;
    EXPECT_EQ(ex.consumed, 0u);
  }
  EXPECT_EQ(parse(exchange(request).response).body, "John");
  // Full and still incomplete: refused, closed.
  HttpExchange ex = exchange(request.substr(0, request.size() - 2), true);
  ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
  EXPECT_TRUE(ex.close);
  Parsed p = parse(ex.response);
  EXPECT_EQ(p.status_line, "HTTP/1.1 400 ");
  EXPECT_EQ(p.body, "Invalid request.");
}

TEST_F(MmdsHttpServiceTest, MalformedRequestsAreRefusedAndClosed) {
  const std::pair<const char*, int> cases[] = {
      {"garbage\r\n\r\n", 400},
      {"GET /\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n"
       "Content-Length: 2\r\n\r\n{}",
       400},
      {"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"GET / HTTP/2.0\r\n\r\n", 501},
      {"GET / HTTP/0.9\r\n\r\n", 501},
      {"GET / FTP/1.1\r\n\r\n", 501},
      {"\x01\x02\x03\r\n\r\n", 400},
      {"G\x01T / HTTP/1.1\r\n\r\n", 501},
      {"GET / HTTP/1.1 \r\n\r\n", 501},
  };
  for (const auto& [request, status] : cases) {
    HttpExchange ex = exchange(request);
    ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered) << request;
    EXPECT_TRUE(ex.close) << request;
    Parsed p = parse(ex.response);
    EXPECT_EQ(p.status, status) << request;
    EXPECT_EQ(p.status_line.substr(0, 9), "HTTP/1.1 ");
    EXPECT_EQ(p.headers["Connection"], "close");
  }
  // A body of zero length is no body.
  EXPECT_EQ(send("GET /name/first HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body, "John");
}

TEST_F(MmdsHttpServiceTest, HugeHeadersAreRefusedWithoutWaiting) {
  std::string huge = "GET / HTTP/1.1\r\nX-Filler: " + std::string(8000, 'a');
  HttpExchange ex = exchange(huge);  // not full, not even finished: over the limit already
  ASSERT_EQ(ex.status, HttpExchange::Status::kAnswered);
  EXPECT_TRUE(ex.close);
  EXPECT_EQ(parse(ex.response).status, 413);

  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 500; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  ex = exchange(many);
  EXPECT_EQ(parse(ex.response).status, 413);
  EXPECT_TRUE(ex.close);

  std::string long_uri =
      "GET /" + std::string(MmdsHttpService::kMaxHeaderBytes, 'p') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse(exchange(long_uri).response).status, 413);
  // Just under the limit: answered.
  std::string fits =
      "GET /" + std::string(MmdsHttpService::kMaxHeaderBytes - 40, 'p') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse(exchange(fits).response).status, 404);
}

TEST_F(MmdsHttpServiceTest, EmptyStoreAnswersNull) {
  MmdsDataStore empty;
  MmdsHttpService service(empty, counters_);
  Parsed p =
      parse(service.respond("GET / HTTP/1.1\r\nAccept: application/json\r\n\r\n", false).response);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "null");
  p = parse(service.respond("GET / HTTP/1.1\r\n\r\n", false).response);
  EXPECT_EQ(p.status, 501);
}

}  // namespace
}  // namespace ember
