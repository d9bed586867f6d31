// Shared by the ports of Firecracker v1.16.1's functional tests (tests/kvm/fc_test_*_test.cc):
// an ember driven through its API socket as Firecracker's test framework drives a microVM
// (spawn, basic_config, start), with the freestanding `ticker` guest standing in for the
// Linux guest those tests boot (see /work/shared/TESTING.md: no stock kernel boots here).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/client/client.h"
#include "tests/kvm/api_call.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {

using namespace std::chrono_literals;

// Firecracker's tests/integration_tests/functional/test_api.py constants.
inline const std::string kNotSupportedBeforeStart =
    "The requested operation is not supported before starting the microVM.";
inline const std::string kNotSupportedAfterStart = "The requested operation is not supported after starting the microVM";

// An answer with its headers: for `Deprecation: true`, which ApiClient does not show.
struct RawResponse {
  int status = 0;
  std::string headers;  // the status line and header lines, lower-cased
  std::string body;
};

// Writes `request` (raw bytes: request line, headers, body) on a fresh connection and reads the
// answer until the server closes the connection (or 5 s pass without data).
inline RawResponse raw_exchange(const std::string& sock, const std::string& request) {
  RawResponse out;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) ::close(fd);
    ADD_FAILURE() << "cannot connect to " << sock;
    return out;
  }
  (void)!::write(fd, request.data(), request.size());
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string all;
  char buf[4096];
  // A server that closes with part of the request unread ends with ECONNRESET instead of EOF,
  // after what it sent: both end the answer.
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = all.find("\r\n\r\n");
  out.headers = all.substr(0, end);
  for (char& c : out.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (end != std::string::npos) out.body = all.substr(end + 4);
  if (all.size() > 12) out.status = std::atoi(all.c_str() + 9);
  return out;
}

// One request on a fresh connection (Connection: close), read to the end.
inline RawResponse raw_request(const std::string& sock, const std::string& method, const std::string& path,
                               const std::string& body) {
  return raw_exchange(sock, method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
                                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body);
}

// A PUT whose Content-Length header says `length` but whose body is `body` (shorter), as
// Firecracker's tests send one with curl -H "Content-Length: ..." -d "some body".
inline RawResponse put_with_content_length(const std::string& sock, const std::string& path, size_t length,
                                           const std::string& body = "some body") {
  return raw_exchange(sock, "PUT " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                            "Content-Type: application/json\r\nContent-Length: " + std::to_string(length) +
                            "\r\n\r\n" + body);
}

// Firecracker's answer (micro_http) to a body over --http-api-max-payload-size: status 400 and
// this body, a raw newline inside the string included.
inline std::string payload_limit_answer(size_t size, size_t limit) {
  return "{ \"error\": \"Request payload with size " + std::to_string(size) + " is larger than the limit of " +
         std::to_string(limit) + " allowed by server.\nAll previous unanswered requests will be dropped.\" }";
}

// A Firecracker test's `uvm_plain`: an ember with an API socket, not configured yet.
class FcMicrovm : public ::testing::Test {
 protected:
  void SetUp() override {
    require_kvm();
    spawn();
  }
  void spawn(const std::vector<std::string>& extra = {}) {
    sock_ = dir_.path() + "/api" + std::to_string(spawned_++) + ".sock";
    std::vector<std::string> argv{EMBER_BINARY, "--api-sock", sock_, "--id", "fc-test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ember_ = std::make_unique<BackgroundProcess>(argv);
    ASSERT_TRUE(ember_->wait_for_output("API server listening", 10s, /*in_stderr=*/true)) << ember_->err();
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_answer(sock_, method, path, body);
  }
  // Firecracker's framework raises RuntimeError on a 4xx: here, the request must be refused
  // with 400 and a fault_message holding `needle`.
  void refused(const std::string& method, const std::string& path, const std::string& body,
               const std::string& needle = "") {
    const ApiResponse r = call(method, path, body);
    EXPECT_EQ(r.status, 400) << method << " " << path << " " << body << " -> " << r.body;
    EXPECT_NE(r.body.find("fault_message"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(needle), std::string::npos)
        << method << " " << path << " " << body << "\n  answer: " << r.body << "\n  expected: " << needle;
  }
  void accepted(const std::string& method, const std::string& path, const std::string& body = "") {
    const ApiResponse r = call(method, path, body);
    EXPECT_EQ(r.status, 204) << method << " " << path << " " << body << " -> " << r.body;
  }

  std::string rootfs() { return dir_.path() + "/rootfs.ext4"; }
  // The framework's basic_config(): 2 vCPUs, 256 MiB, the kernel (here the ticker guest) and a
  // read-only root drive.
  void basic_config(const std::string& boot_args = "console=ttyS0", bool add_root_device = true) {
    accepted("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})");
    accepted("PUT", "/boot-source",
             R"({"kernel_image_path": ")" + guest_path("ticker") + R"(", "boot_args": ")" + boot_args + R"("})");
    if (add_root_device) {
      dir_.write("rootfs.ext4", std::string(1 << 20, '\0'));
      accepted("PUT", "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": ")" + rootfs() +
                                            R"(", "is_root_device": true, "is_read_only": true})");
    }
  }
  // The framework's start(): InstanceStart, and the guest runs.
  void start() {
    accepted("PUT", "/actions", R"({"action_type": "InstanceStart"})");
    ASSERT_TRUE(ember_->wait_for_output("tick 1\n", 30s)) << ember_->out() << ember_->err();
  }
  std::string scratch(const std::string& name) { return dir_.write(name, std::string(1 << 20, '\0')); }

  TempDir dir_;
  std::string sock_;
  int spawned_ = 0;
  std::unique_ptr<BackgroundProcess> ember_;
};

}  // namespace ember::test
