// ember: one microVM per process.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "api/config_file.h"
#include "api/server.h"
#include "vmm/controller/vmm.h"
#include "vmm/seccomp/thread_filters.h"
#include "base/file.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "vmm/vm_exit.h"

namespace {

constexpr uint64_t kMaxConfigFileSize = 1 << 20;
constexpr const char* kDefaultApiSocket = "/run/ember.socket";

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
  // Every vsock connection holds an fd: allow as many as the hard limit does.
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
  }
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
  app.add_option("--api-sock", api_sock, "Path of the API Unix socket (default /run/ember.socket)");
  app.add_option("--config-file", config_file, "Start the microVM from this JSON configuration");
  app.add_flag("--no-api", no_api, "Do not serve the API; needs --config-file");
  app.add_option("--id", id, "MicroVM id shown in logs");
  app.add_flag("--boot-timer", boot_timer, "Log the guest's boot time when it writes the boot timer");
  app.add_option("--log-path", log_path, "Write the log to this file (default: stderr)");
  app.add_option("--level", level, "Log level: Error, Warning, Info or Debug");
  app.add_option("--metrics-path", metrics_path, "Write metrics to this file or FIFO");
  app.add_option("--seccomp-filter", seccomp_filter,
                 "Install the seccomp filters of this JSON file (Firecracker's shape) instead of the built-in ones");
  app.add_flag("--no-seccomp", no_seccomp, "Install no seccomp filters (for debugging)");
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
  if (no_api && config_file.empty()) return fail("--no-api needs --config-file: there would be nothing to run");
  if (no_api && !api_sock.empty()) return fail("--no-api and --api-sock exclude each other");
  if (no_seccomp && !seccomp_filter.empty()) return fail("--no-seccomp and --seccomp-filter exclude each other");
  // Compiled before anything starts (a bad filter file ends ember here); each thread installs
  // its own as it starts (see vmm/seccomp/README.md).
  if (!no_seccomp) {
    auto programs = ember::seccomp::load_thread_programs(seccomp_filter);
    if (!programs) return fail((seccomp_filter.empty() ? "seccomp: " : "--seccomp-filter: ") + programs.error().message);
    ember::seccomp::set_thread_filters(std::move(programs).value());
  }

  ember::VmmOptions options;
  options.instance_id = id;
  options.boot_timer = boot_timer;
  options.start_time = start_time;
  auto vmm = ember::Vmm::create(options);
  if (!vmm) return fail(vmm.error().message);

  // The same action as PUT /metrics, so a later PUT /metrics (or a config file's "metrics")
  // is refused as a second configuration.
  if (!metrics_path.empty()) {
    auto done = (*vmm)->handle(ember::PutMetrics{ember::MetricsConfig{metrics_path}});
    if (!done) return fail("--metrics-path: " + done.error().message);
  }

  // The API thread starts before the config file's InstanceStart confines this (the VMM) thread,
  // which may then create no thread.
  std::unique_ptr<ember::ApiServer> api;
  if (!no_api) {
    if (api_sock.empty()) api_sock = kDefaultApiSocket;
    auto server = ember::ApiServer::start(api_sock, (*vmm)->action_handler());
    if (!server) return fail("--api-sock: " + server.error().message);
    api = std::move(server).value();
    (*vmm)->attach_api_stats([server = api.get()] { return server->stats(); });
    ember::log_info("API server listening on " + api_sock);
  }

  // The config file goes through the same actions as the API, then starts the VM.
  if (!config_file.empty()) {
    auto text = ember::read_file(config_file, kMaxConfigFileSize);
    if (!text) return fail("--config-file: " + text.error().message);
    auto actions = ember::parse_config_file(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    if (!actions) return fail(config_file + ": " + actions.error().message);
    for (const auto& action : *actions) {
      auto done = (*vmm)->handle(action);
      if (!done) return fail(config_file + ": " + done.error().message);
    }
  }

  const int status = (*vmm)->run();
  if (api) api->stop();
  return status;
}
