// Firecracker v1.16.1's tests/integration_tests/functional/test_api_server.py, ported.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/kvm/fc_test_util.h"

namespace ember::test {
namespace {

TEST(FcTestApiServer, TestApiSocketInUse) {
  require_kvm();
  TempDir dir;
  const std::string path = dir.path() + "/firecracker.socket";
  // A socket already bound at the path, as a previous run leaves it.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const ProcessResult r = run_process({EMBER_BINARY, "--api-sock", path, "--level", "Warning"}, 10s);
  ::close(fd);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Failed to open the API socket at: " + path + ". Check that it is not already used."),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ember::test
