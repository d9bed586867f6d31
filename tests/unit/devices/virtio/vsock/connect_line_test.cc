// The "CONNECT <port>\n" handshake of the hybrid vsock backend.
#include "devices/virtio/vsock/connect_line.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "tests/unit/devices/virtio/vsock/vsock_test_util.h"

namespace ember::vsock {
namespace {

TEST(VsockConnectLine, Parses) {
  EXPECT_EQ(*parse_connect_line("CONNECT 52"), 52u);
  EXPECT_EQ(*parse_connect_line("CONNECT 0"), 0u);
  EXPECT_EQ(*parse_connect_line("CONNECT   1024\r"), 1024u);
  EXPECT_EQ(*parse_connect_line("CONNECT 4294967294"), 4294967294u);
  EXPECT_EQ(connect_reply(1073741824), "OK 1073741824\n");
}

TEST(VsockConnectLine, Rejects) {
  for (const char* bad : {"", "CONNECT", "CONNECT ", "CONNECT52", "connect 52", "CONNECT 5x",
                          "CONNECT -1", "CONNECT 52 ", "LISTEN 52", "CONNECT 4294967295",
                          "CONNECT 4294967296", "CONNECT 99999999999", "CONNECT 0x10"}) {
    auto r = parse_connect_line(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = parse_connect_line("CONNECT \x01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\\x01"), std::string::npos) << r.error().message;
}

class VsockConnectLineSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    device_.reset(fds[0]);
    host_.reset(fds[1]);
  }
  UniqueFd device_, host_;
  std::string line_;
};

TEST_F(VsockConnectLineSocket, KeepsBytesAfterTheNewline) {
  vsock_testing::write_all(host_.get(), "CONN");
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kIncomplete);
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kIncomplete);
  vsock_testing::write_all(host_.get(), "ECT 52\nhello");
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kComplete);
  EXPECT_EQ(line_, "CONNECT 52");
  EXPECT_EQ(vsock_testing::read_available(device_.get()), "hello");
}

TEST_F(VsockConnectLineSocket, TooLongWithoutNewline) {
  vsock_testing::write_all(host_.get(), std::string(kMaxConnectLine, 'C'));
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kTooLong);
}

TEST_F(VsockConnectLineSocket, LongestLineFits) {
  vsock_testing::write_all(host_.get(), "CONNECT" + std::string(kMaxConnectLine - 11, ' ') + "52\n");
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kComplete);
  EXPECT_EQ(*parse_connect_line(line_), 52u);
}

TEST_F(VsockConnectLineSocket, ClosedEarly) {
  vsock_testing::write_all(host_.get(), "CONNECT 5");
  host_.reset();
  EXPECT_EQ(*read_connect_line(device_.get(), &line_), LineRead::kClosed);
}

}  // namespace
}  // namespace ember::vsock
