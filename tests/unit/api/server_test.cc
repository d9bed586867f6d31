// The API server end to end: a fake handler behind the real server, spoken to through the real
// client (and through raw socket writes for what a client would never send) over a socket in a
// temporary directory.
#include "api/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "api/response.h"
#include "base/unique_fd.h"

namespace ember {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Answers like a VMM would: GETs with values, a drive called "refused" with an error of its
// own, and errors of the other kinds to check the statuses they become.
class FakeHandler final : public ActionHandler {
 public:
  ActionResult handle(const VmmAction& action) override {
    {
      std::lock_guard lock(mutex_);
      seen_.emplace_back(action_name(action));
    }
    if (std::holds_alternative<GetVersion>(action)) return ActionOutput{VmmVersion{"9.9.9"}};
    if (std::holds_alternative<GetInstanceInfo>(action))
      return ActionOutput{InstanceInfo{"test-vm", InstanceState::kRunning, "9.9.9"}};
    if (const auto* drive = std::get_if<PutDrive>(&action)) {
      if (drive->config.drive_id == "refused") return make_error("drive 'refused' cannot be added now");
      if (drive->config.drive_id == "throws") throw std::runtime_error("handler blew up");
      if (drive->config.drive_id == "weird") return make_error(ErrorKind::kInternal, "a bug");
      if (drive->config.drive_id == "chatty") return make_error(ErrorKind::kUnavailable, "going away");
    }
    return ActionOutput{};
  }

  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

std::string drive_body(const std::string& id) {
  return R"({"drive_id": ")" + id + R"(", "path_on_host": "/d", "is_root_device": false})";
}

// A connection on which the test writes whatever bytes it likes.
UniqueFd connect_raw(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) ADD_FAILURE() << "connect failed";
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until the peer closes, `until` appears, or two seconds pass (then `timed_out`).
std::string read_raw(int fd, bool* timed_out = nullptr, std::string_view until = {}) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  if (timed_out) *timed_out = false;
  for (;;) {
    if (!until.empty() && out.find(until) != std::string::npos) return out;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      if (timed_out) *timed_out = true;
      return out;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/ember-api-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/api.sock";
    auto server = ApiServer::start(path_, handler_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  ApiClient client() {
    auto c = ApiClient::connect(path_, 5s);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c).value();
  }

  FakeHandler handler_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, AnswersNoContentJsonAndFaults) {
  ApiClient c = client();
  auto start = c.request("PUT", "/actions", R"({"action_type": "InstanceStart"})");
  ASSERT_TRUE(start.ok()) << start.error().message;
  EXPECT_EQ(start->status, 204);
  EXPECT_EQ(start->body, "");

  auto version = c.request("GET", "/version");
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(version->status, 200);
  EXPECT_EQ(json::parse(version->body)["firecracker_version"], "9.9.9");

  auto info = c.request("GET", "/");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(json::parse(info->body)["app_name"], "ember");

  // Refused by the parser: the handler never sees it.
  auto bad = c.request("PUT", "/drives/x", R"({"drive_id": "x"})");
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["fault_message"], "An error occurred when deserializing the json body of a request: missing field `path_on_host` at line 1 "
            "column 17.");

  // Refused by the handler.
  auto refused = c.request("PUT", "/drives/refused", drive_body("refused"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(json::parse(refused->body)["fault_message"], "drive 'refused' cannot be added now");

  auto unknown = c.request("GET", "/nope");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(json::parse(unknown->body)["fault_message"].get<std::string>().find("unknown API path"), std::string::npos);

  auto unsupported = c.request("PUT", "/balloon", R"({"amount_mib": 1, "deflate_on_oom": false})");
  ASSERT_TRUE(unsupported.ok());
  EXPECT_EQ(unsupported->status, 400);

  EXPECT_EQ(handler_.seen(), (std::vector<std::string>{"InstanceStart", "GetVersion", "GetInstanceInfo", "PutDrive"}));
}

TEST_F(ApiServerTest, HandlerFailuresBecomeStatusesByKind) {
  ApiClient c = client();
  auto thrown = c.request("PUT", "/drives/throws", drive_body("throws"));
  ASSERT_TRUE(thrown.ok()) << thrown.error().message;
  EXPECT_EQ(thrown->status, 500);
  EXPECT_NE(thrown->body.find("handler blew up"), std::string::npos);

  auto weird = c.request("PUT", "/drives/weird", drive_body("weird"));
  ASSERT_TRUE(weird.ok());
  EXPECT_EQ(weird->status, 500);
  EXPECT_EQ(json::parse(weird->body)["fault_message"], "a bug");

  auto chatty = c.request("PUT", "/drives/chatty", drive_body("chatty"));
  ASSERT_TRUE(chatty.ok());
  EXPECT_EQ(chatty->status, 503);
  EXPECT_EQ(json::parse(chatty->body)["fault_message"], "going away");

  // The connection survived all of it.
  auto again = c.request("GET", "/version");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(ApiServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  ApiClient c = client();
  for (int i = 0; i < 10; ++i) {
    auto r = c.request(i % 2 ? "GET" : "PUT", i % 2 ? "/version" : "/actions", i % 2 ? "" : R"({"action_type": "FlushMetrics"})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, i % 2 ? 200 : 204);
  }
  const ApiServerStats stats = server_->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.endpoints.at("PUT /actions").requests, 5u);
  EXPECT_EQ(stats.endpoints.at("GET /version").requests, 5u);
  EXPECT_EQ(stats.endpoints.at("GET /version").failures, 0u);
}

TEST_F(ApiServerTest, CountsRequestsPerEndpoint) {
  ApiClient c = client();
  ASSERT_TRUE(c.request("PUT", "/drives/a", drive_body("a")).ok());
  ASSERT_TRUE(c.request("PUT", "/drives/b", "{").ok());
  ASSERT_TRUE(c.request("PUT", "/drives/refused", drive_body("refused")).ok());
  ASSERT_TRUE(c.request("GET", "/what").ok());
  const ApiServerStats stats = server_->stats();
  const ApiEndpointStats& drives = stats.endpoints.at("PUT /drives/{drive_id}");
  EXPECT_EQ(drives.requests, 3u);
  EXPECT_EQ(drives.failures, 2u);
  EXPECT_GE(drives.total_latency_us, drives.max_latency_us);
  EXPECT_EQ(stats.endpoints.at("other").requests, 1u);
  EXPECT_EQ(stats.endpoints.at("other").failures, 1u);
}

// Firecracker's micro_http answer, word for word (its raw newline included: not valid JSON).
TEST_F(ApiServerTest, OversizedBodyIsRefusedAsFirecrackerDoes) {
  ApiClient c = client();
  const std::string body = R"({"metrics_path": ")" + std::string(60 * 1024, 'm') + "\"}";
  auto r = c.request("PUT", "/metrics", body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "{ \"error\": \"Request payload with size " + std::to_string(body.size()) +
                         " is larger than the limit of 51200 allowed by server.\nAll previous unanswered requests "
                         "will be dropped.\" }");
  EXPECT_TRUE(handler_.seen().empty());
  EXPECT_EQ(server_->stats().bad_http, 1u);

  // The client reconnects, and a body just under the limit is fine.
  const std::string fits = R"({"metrics_path": ")" + std::string(50 * 1024 - 100, 'm') + "\"}";
  auto ok = c.request("PUT", "/metrics", fits);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, 204);
}

TEST_F(ApiServerTest, MalformedHttpIsAnswered400AndClosed) {
  const char* garbage[] = {
      "GARBAGE\r\n\r\n",
      "GET /version HTTP/9.9\r\n\r\n",
      "PUT /actions HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
      "GET /version HTTP/1.1\r\nBad Header Line\r\n\r\n",
  };
  for (const char* request : garbage) {
    UniqueFd fd = connect_raw(path_);
    send_all(fd.get(), request);
    bool timed_out = false;
    const std::string answer = read_raw(fd.get(), &timed_out);
    EXPECT_FALSE(timed_out) << "the server did not close after: " << request;
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << request << "\n" << answer;
    EXPECT_NE(answer.find("fault_message"), std::string::npos) << answer;
  }
  // A header over the limit.
  UniqueFd fd = connect_raw(path_);
  send_all(fd.get(), "GET /version HTTP/1.1\r\nX-Big: " + std::string(10000, 'x') + "\r\n\r\n");
  const std::string answer = read_raw(fd.get());
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_NE(answer.find("header is larger"), std::string::npos) << answer;

  EXPECT_TRUE(handler_.seen().empty());
  auto after = client().request("GET", "/version");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ApiServerTest, ConnectionCloseAndHttp10AreHonoured) {
  for (const char* request : {"GET /version HTTP/1.1\r\nConnection: close\r\n\r\n", "GET /version HTTP/1.0\r\n\r\n"}) {
    UniqueFd fd = connect_raw(path_);
    send_all(fd.get(), request);
    bool timed_out = false;
    const std::string answer = read_raw(fd.get(), &timed_out);
    EXPECT_FALSE(timed_out) << request;
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
    EXPECT_NE(answer.find("9.9.9"), std::string::npos) << answer;
  }
}

TEST_F(ApiServerTest, PipelinedRequestsAreAnsweredInOrder) {
  UniqueFd fd = connect_raw(path_);
  send_all(fd.get(),
           "GET /version HTTP/1.1\r\n\r\n"
           "PUT /actions HTTP/1.1\r\nContent-Length: 33\r\n\r\n{\"action_type\": \"InstanceStart\"}\n"
           "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string answer = read_raw(fd.get());
  const size_t first = answer.find("HTTP/1.1 200");
  const size_t second = answer.find("HTTP/1.1 204");
  const size_t third = answer.find("HTTP/1.1 200", first + 1);
  ASSERT_NE(first, std::string::npos) << answer;
  ASSERT_NE(second, std::string::npos) << answer;
  ASSERT_NE(third, std::string::npos) << answer;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(ApiServerTest, ExpectContinueIsAnswered) {
  UniqueFd fd = connect_raw(path_);
  const std::string body = R"({"action_type": "InstanceStart"})";
  send_all(fd.get(), "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n");
  const std::string interim = read_raw(fd.get(), nullptr, "\r\n\r\n");
  EXPECT_TRUE(interim.starts_with("HTTP/1.1 100 Continue")) << interim;
  send_all(fd.get(), body);
  const std::string answer = read_raw(fd.get(), nullptr, "\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 204")) << answer;
}

TEST_F(ApiServerTest, TwentyClientsAtOnce) {
  constexpr int kClients = 20;
  constexpr int kRequestsEach = 5;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = ApiClient::connect(path_, 5s);
      if (!c.ok()) return;
      for (int j = 0; j < kRequestsEach; ++j) {
        const std::string id = "d" + std::to_string(i) + "_" + std::to_string(j);
        auto r = c->request("PUT", "/drives/" + id, drive_body(id));
        if (r.ok() && r->status == 204) ++good;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), kClients * kRequestsEach);
  EXPECT_EQ(handler_.seen().size(), static_cast<size_t>(kClients * kRequestsEach));
  EXPECT_EQ(server_->stats().connections_accepted, static_cast<uint64_t>(kClients));
}

TEST_F(ApiServerTest, ClientThatDisconnectsMidRequestHarmsNoOne) {
  ApiClient other = client();
  ASSERT_TRUE(other.request("GET", "/version").ok());
  {
    UniqueFd fd = connect_raw(path_);
    send_all(fd.get(), "PUT /actions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"action_ty");
  }
  {
    UniqueFd fd = connect_raw(path_);
    send_all(fd.get(), "PUT /actions HTT");
  }
  auto r = other.request("PUT", "/actions", R"({"action_type": "SendCtrlAltDel"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(handler_.seen(), (std::vector<std::string>{"GetVersion", "SendCtrlAltDel"}));
}

TEST_F(ApiServerTest, StopWhileClientsAreConnected) {
  ApiClient c = client();
  ASSERT_TRUE(c.request("GET", "/version").ok());
  UniqueFd idle = connect_raw(path_);
  UniqueFd half = connect_raw(path_);
  send_all(half.get(), "PUT /actions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{");
  // Let the server take both connections in before it stops.
  auto probe = c.request("GET", "/");
  ASSERT_TRUE(probe.ok());

  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  bool timed_out = true;
  EXPECT_EQ(read_raw(idle.get(), &timed_out), "");
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(read_raw(half.get(), &timed_out), "");
  EXPECT_FALSE(timed_out);
  struct stat st {};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0) << "the socket file is still there";
  EXPECT_FALSE(c.request("GET", "/version").ok());

  server_->stop();  // idempotent
}

TEST_F(ApiServerTest, DestructorRemovesTheSocket) {
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  server_.reset();
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
}

TEST_F(ApiServerTest, RefusesAPathThatExists) {
  // The running server's own socket...
  auto second = ApiServer::start(path_, handler_);
  ASSERT_FALSE(second.ok());
  // Firecracker's words (test_api_server.py::test_api_socket_in_use).
  EXPECT_NE(second.error().message.find("Failed to open the API socket at: " + path_ + ". Check that it is not already used."),
            std::string::npos)
      << second.error().message;
  // ...and a plain file.
  const std::string file = dir_ + "/plain";
  std::ofstream(file) << "x";
  auto third = ApiServer::start(file, handler_);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().message.find("Check that it is not already used."), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(file)) << "a refused start must not remove the file";
}

TEST_F(ApiServerTest, RefusesBadPaths) {
  auto too_long = ApiServer::start(dir_ + "/" + std::string(120, 's'), handler_);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("too long"), std::string::npos) << too_long.error().message;
  auto empty = ApiServer::start("", handler_);
  EXPECT_FALSE(empty.ok());
  auto no_dir = ApiServer::start(dir_ + "/missing/api.sock", handler_);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.error().message.find("cannot create the API socket"), std::string::npos)
      << no_dir.error().message;
}

TEST_F(ApiServerTest, ClientReportsMissingSocketAndTimeouts) {
  auto missing = ApiClient::connect(dir_ + "/nothing.sock", 1s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot connect"), std::string::npos) << missing.error().message;

  auto one_shot = api_request(path_, "GET", "/version");
  ASSERT_TRUE(one_shot.ok()) << one_shot.error().message;
  EXPECT_EQ(one_shot->status, 200);

  // A listener that never answers.
  const std::string mute_path = dir_ + "/mute.sock";
  UniqueFd mute(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, mute_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(mute.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(mute.get(), 4), 0);
  auto c = ApiClient::connect(mute_path, 100ms);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto r = c->request("GET", "/version");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no answer within 100 ms"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ember
