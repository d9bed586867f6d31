// Firecracker v1.16.1's tests/integration_tests/functional/test_logging.py, ported: the API's
// log lines that Firecracker's users match, in the file PUT /logger names.
//
// test_log_config checks every line's format for each --level/--show-level/--show-log-origin;
// its first check ("Running Firecracker" as the first line) is not ported: ember's first line is
// its own ("API server listening on ...").
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/kvm/client_launch.h"
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
  // The framework's spawn(log_level=..., log_show_level=..., log_show_origin=...): the log goes
  // to a file from the start; ready when the API socket takes connections.
  void spawn_logging(const std::string& binary, const std::vector<std::string>& flags) {
    sock_ = dir_.path() + "/api" + std::to_string(spawned_++) + ".sock";
    log_path_ = dir_.path() + "/log" + std::to_string(spawned_);
    std::vector<std::string> argv{binary, "--api-sock", sock_, "--id", "fc-test", "--log-path", log_path_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ember_ = std::make_unique<BackgroundProcess>(argv);
    ASSERT_TRUE(wait_for_api_socket(sock_, 10s)) << ember_->err();
  }
  std::vector<std::string> log_lines() {
    std::vector<std::string> lines;
    std::istringstream in(log_data());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::string log_path_;
};

const std::vector<std::string> kLogLevels = {"ERROR", "WARN", "INFO", "DEBUG"};

int formal_level_index(const std::string& level) {
  if (level == "Error") return 0;
  if (level == "Warning") return 1;
  if (level == "Info") return 2;
  return 3;
}

// check_log_message_format: "<stamp> [ID:THREAD[:LEVEL][:FILE:LINE]] MESSAGE", no level above
// the configured one. Stricter than Firecracker's regex (whose THREAD is ".*"): the tag has
// exactly the parts asked for, so a level or origin that should be absent is caught too.
void check_log_message_format(const std::string& line, const std::string& id, const std::string& level,
                              bool show_level, bool show_origin) {
  SCOPED_TRACE(line);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, std::regex(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9} \[([^\]]*)\] .*$)")));
  std::vector<std::string> parts;
  std::istringstream tag(m[1].str());
  for (std::string part; std::getline(tag, part, ':');) parts.push_back(part);
  ASSERT_EQ(parts.size(), 2u + (show_level ? 1 : 0) + (show_origin ? 2 : 0));
  EXPECT_EQ(parts[0], id);
  size_t next = 2;
  if (show_level) {
    const auto it = std::find(kLogLevels.begin(), kLogLevels.end(), parts[next++]);
    ASSERT_NE(it, kLogLevels.end());
    EXPECT_LE(it - kLogLevels.begin(), formal_level_index(level));
  }
  if (show_origin) {
    EXPECT_TRUE(std::regex_match(parts[next], std::regex("[^:]+/[^:]+"))) << parts[next];
    EXPECT_TRUE(std::regex_match(parts[next + 1], std::regex("[0-9]+"))) << parts[next + 1];
  }
}

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

TEST_F(FcTestLogging, TestLogConfig) {
  struct Case {
    std::string level;
    bool show_level, show_origin;
  };
  for (const Case& c : {Case{"Info", true, true}, Case{"Info", false, true}, Case{"Info", true, false},
                        Case{"Info", false, false}, Case{"Error", false, false}, Case{"Warning", false, false}}) {
    SCOPED_TRACE(c.level + (c.show_level ? " show_level" : "") + (c.show_origin ? " show_origin" : ""));
    // Invoked as `firecracker`, ember takes Firecracker's defaults (no level, no origin), so the
    // flags alone decide, as in Firecracker's test.
    std::vector<std::string> flags{"--level", c.level};
    if (c.show_level) flags.push_back("--show-level");
    if (c.show_origin) flags.push_back("--show-log-origin");
    const std::string binary = dir_.path() + "/firecracker";
    if (!std::filesystem::exists(binary)) firecracker_link(dir_.path(), EMBER_BINARY);
    spawn_logging(binary, flags);
    basic_config();
    start();
    const auto lines = log_lines();
    if (formal_level_index(c.level) >= formal_level_index("Info")) {
      EXPECT_FALSE(lines.empty());
    }
    for (const auto& line : lines) check_log_message_format(line, "fc-test", c.level, c.show_level, c.show_origin);
  }
}

// ember under its own name keeps its level in every line unless told otherwise; PUT /logger's
// show_level and show_log_origin change the format of the lines after it.
TEST_F(FcTestLogging, EmberShowsTheLevelByDefaultAndPutLoggerChangesTheFormat) {
  spawn_logging(EMBER_BINARY, {});
  basic_config();
  for (const auto& line : log_lines()) check_log_message_format(line, "fc-test", "Info", true, false);
  EXPECT_FALSE(log_lines().empty());
  log_path_ = dir_.write("new_log", "");
  accepted("PUT", "/logger", R"({"log_path": ")" + log_path_ + R"(", "show_level": false, "show_log_origin": true})");
  basic_config();
  EXPECT_FALSE(log_lines().empty());
  for (const auto& line : log_lines()) check_log_message_format(line, "fc-test", "Info", false, true);
}

// `module`: only lines from that origin. Firecracker takes a Rust module path ("vmm::rpc_interface");
// ember an origin path from the repository root: "api/" keeps the API server's request lines.
TEST_F(FcTestLogging, ModuleFiltersLinesByOriginPath) {
  spawn_logging(EMBER_BINARY, {});
  log_path_ = dir_.write("filtered", "");
  accepted("PUT", "/logger", R"({"log_path": ")" + log_path_ + R"(", "show_log_origin": true, "module": "api/"})");
  basic_config();
  check_log_message(R"(The API server received a Put request on "/machine-config" with body)");
  for (const auto& line : log_lines()) {
    EXPECT_NE(line.find(":INFO:api/"), std::string::npos) << line;
  }
  accepted("PUT", "/logger", R"({"module": "devices/"})");
  const size_t before = log_lines().size();
  accepted("PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})");
  EXPECT_EQ(log_lines().size(), before) << log_data();
}

}  // namespace
}  // namespace ember::test
