// Firecracker v1.16.1's tests/integration_tests/functional/test_logging.py, ported: the API's
// log lines that Firecracker's users match, in the file PUT /logger names.
//
// Not ported: test_log_config (the line format with and without level and origin, and the
// "Running Firecracker" first line): the log format is base/log's and the first line
// ember/main.cc's, outside this port's files.
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/kvm/fc_test_util.h"

namespace ember::test {
namespace {

class FcTestLogging : public FcMicrovm {
 protected:
  std::string log_data() {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The framework's check_log_message: the line shows up (the log is written as it goes).
  void check_log_message(const std::string& needle) {
    for (int i = 0; i < 200; ++i) {
      if (log_data().find(needle) != std::string::npos) return;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "the log lacks: " << needle << "\n" << log_data();
  }
  std::string log_path_;
};

TEST_F(FcTestLogging, TestApiRequestsLogs) {
  basic_config();
  log_path_ = dir_.write("log", "");
  accepted("PUT", "/logger", R"({"log_path": ")" + log_path_ + R"(", "level": "Info", "show_level": true, "show_log_origin": true})");
  accepted("PATCH", "/machine-config", R"({"vcpu_count": 4})");
  check_log_message(R"(The API server received a Patch request on "/machine-config" with body)");
  accepted("PUT", "/machine-config", R"({"vcpu_count": 4, "mem_size_mib": 128})");
  check_log_message(R"(The API server received a Put request on "/machine-config" with body)");
  call("GET", "/machine-config");
  check_log_message(R"(The API server received a Get request on "/machine-config".)");

  log_path_ = dir_.write("new_log", "");
  accepted("PUT", "/logger", R"({"log_path": ")" + log_path_ + R"(", "level": "Info", "show_level": true, "show_log_origin": true})");
  // /mmds is out of scope, but its requests are logged without the body, as Firecracker does.
  call("PUT", "/mmds", R"({"latest": {"meta-data": {"ami-id": "dummy"}}})");
  check_log_message(R"(The API server received a Put request on "/mmds".)");
  call("PATCH", "/mmds", R"({"latest": {"meta-data": {"ami-id": "dummy"}}})");
  check_log_message(R"(The API server received a Patch request on "/mmds".)");
  call("GET", "/mmds");
  check_log_message(R"(The API server received a Get request on "/mmds".)");

  const std::string fault =
      "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)";
  refused("PUT", "/boot-source", R"({"kernel_image_path": "inexistent_path"})", fault);
  check_log_message("Received Error. Status code: 400 Bad Request. Message: " + fault);
}

}  // namespace
}  // namespace ember::test
