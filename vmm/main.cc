// ember: one microVM per process.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "vmm/config/vm_config.h"
#include "vmm/util/file.h"
#include "vmm/util/log.h"
#include "vmm/util/unique_fd.h"
#include "vmm/vm.h"
#include "vmm/vm_exit.h"

namespace {

constexpr uint64_t kMaxConfigFileSize = 1 << 20;

// One line on stderr, whatever the log level: the reason ember did not run the VM.
int fail(const std::string& message) {
  std::fprintf(stderr, "ember: %s\n", message.c_str());
  return ember::kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  const auto start_time = std::chrono::steady_clock::now();
  // A closed console or log pipe must fail a write (EPIPE), not kill the VMM.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"ember: a minimalist KVM microVM monitor", "ember"};
  std::string api_sock;
  std::string config_file;
  std::string id = "anonymous-instance";
  std::string log_path;
  std::string level = "Info";
  std::string metrics_path;
  std::string seccomp_filter;
  bool no_api = false;
  bool boot_timer = false;
  bool no_seccomp = false;
  app.add_option("--api-sock", api_sock, "Path of the API Unix socket");
  app.add_option("--config-file", config_file, "Start the microVM from this JSON configuration");
  app.add_flag("--no-api", no_api, "Do not serve the API; requires --config-file");
  app.add_option("--id", id, "MicroVM id shown in logs");
  app.add_flag("--boot-timer", boot_timer, "Log the guest's boot time when it writes the boot timer");
  app.add_option("--log-path", log_path, "Write the log to this file (default: stderr)");
  app.add_option("--level", level, "Log level: Error, Warning, Info or Debug");
  app.add_option("--metrics-path", metrics_path, "Write metrics to this file or FIFO");
  app.add_option("--seccomp-filter", seccomp_filter, "Custom seccomp filter (JSON)");
  app.add_flag("--no-seccomp", no_seccomp, "Do not install seccomp filters");
  app.set_version_flag("--version", std::string("ember v") + EMBER_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ember::kExitError;
  }

  ember::LogLevel max_level;
  if (!ember::parse_log_level(level, &max_level)) return fail("--level: unknown log level '" + level + "'");
  if (id.empty() || id.size() > 64) return fail("--id must be 1 to 64 characters");
  ember::log_configure(id, max_level);
  ember::UniqueFd log_fd;
  if (!log_path.empty()) {
    log_fd.reset(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!log_fd.valid()) return fail("--log-path: cannot open " + log_path);
    ember::log_set_fd(log_fd.get());
  }
  if (!api_sock.empty()) return fail("--api-sock: this ember build has no API server yet; use --no-api --config-file");
  if (!metrics_path.empty()) return fail("--metrics-path: metrics are not available in this ember build yet");
  if (!seccomp_filter.empty()) return fail("--seccomp-filter: seccomp filters are not available in this ember build yet");
  if (config_file.empty()) return fail("nothing to run: give --config-file (the API server is not available yet)");
  (void)no_api;
  (void)no_seccomp;

  auto text = ember::read_file(config_file, kMaxConfigFileSize);
  if (!text) return fail("--config-file: " + text.error().message);
  auto config = ember::parse_vm_config(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!config) return fail(config_file + ": " + config.error().message);

  ember::VmOptions options;
  options.config = std::move(config).value();
  options.boot_timer = boot_timer;
  options.start_time = start_time;
  auto vm = ember::build_vm(options);
  if (!vm) return fail(vm.error().message);
  return (*vm)->run();
}
