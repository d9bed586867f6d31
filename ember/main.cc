// ember: one microVM per process.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "api/config_file.h"
#include "api/request_parser.h"
#include "api/server.h"
#include "vmm/controller/vmm.h"
#include "vmm/seccomp/thread_filters.h"
#include "vmm/snapshot/describe.h"
#include "base/file.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "vmm/vm_exit.h"

namespace {

constexpr uint64_t kMaxConfigFileSize = 1 << 20;
// A --metadata file may be pretty-printed well past the store's limit on compact JSON.
constexpr uint64_t kMaxMetadataFileSize = 16 << 20;

// The defaults that differ between ember's own name and Firecracker's. Invoked as `firecracker`
// (argv[0]'s last component, e.g. a symlink), ember takes Firecracker's, so that a client set up
// for Firecracker needs nothing else: its default socket (src/firecracker/src/main.rs
// DEFAULT_API_SOCK_PATH; Kata Containers waits for it inside the jail) and its thread names
// (`fc_api`, `fc_vcpu <n>`: Kata finds the vCPU threads to pin by these names). The main thread
// is named after the executable by the kernel already.
struct Personality {
  const char* api_socket;
  const char* api_thread;
  const char* vcpu_thread_prefix;
  // Whether log lines show their level unless told (--show-level, PUT /logger's show_level):
  // ember's own lines always have; Firecracker's default is off (src/vmm/src/logger/logging.rs).
  bool show_level;
};
constexpr Personality kEmber{"/run/ember.socket", "ember_api", "ember_vcpu", true};
constexpr Personality kFirecracker{"/run/firecracker.socket", "fc_api", "fc_vcpu ", false};

const Personality& personality_of(const char* argv0) {
  const std::string_view path = argv0 != nullptr ? argv0 : "";
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return name == "firecracker" ? kFirecracker : kEmber;
}

// Firecracker's rule for --id (src/utils/src/validators.rs): 1 to 64 characters, each
// alphanumeric or '-'. The id names the jail and the cgroups too.
bool valid_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') return false;
  }
  return true;
}

// A decimal unsigned integer, all of it (Firecracker parses these flags as u64/usize).
std::optional<uint64_t> parse_unsigned(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

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
  const Personality& personality = personality_of(argc > 0 ? argv[0] : nullptr);
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
  bool show_level = false;
  bool show_log_origin = false;
  std::string module;
  std::string start_time_us;
  std::string start_time_cpu_us;
  std::string parent_cpu_time_us;
  std::string max_payload;
  std::string mmds_size_limit;
  std::string metadata;
  app.add_option("--api-sock", api_sock,
                 std::string("Path of the API Unix socket (default ") + personality.api_socket + ")");
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
  app.add_flag("--show-level", show_level, "Show the level in log lines (as PUT /logger's show_level)");
  app.add_flag("--show-log-origin", show_log_origin, "As PUT /logger's show_log_origin");
  app.add_option("--module", module, "As PUT /logger's module");
  // The jailer of Firecracker passes these three; ember checks them and has no use for them.
  app.add_option("--start-time-us", start_time_us, "When the launcher started, in microseconds (accepted, unused)");
  app.add_option("--start-time-cpu-us", start_time_cpu_us, "The launcher's CPU time, in microseconds (accepted, unused)");
  app.add_option("--parent-cpu-time-us", parent_cpu_time_us, "The parent's CPU time, in microseconds (accepted, unused)");
  app.add_option("--http-api-max-payload-size", max_payload, "Largest API request body, in bytes (default 51200)");
  app.add_option("--mmds-size-limit", mmds_size_limit,
                 "Largest MMDS data store, in bytes of compact JSON (default: the API's payload limit)");
  app.add_option("--metadata", metadata, "Fill the MMDS data store from this JSON file at start");
  // Firecracker's --snapshot-version and --describe-snapshot FILE (main.rs): print "v<semver>"
  // and exit before anything else is set up; a bad file exits 1 with one line on stderr.
  bool snapshot_version = false;
  std::string describe_snapshot;
  app.add_flag("--snapshot-version", snapshot_version, "Print the snapshot state file format version this ember writes");
  app.add_option("--describe-snapshot", describe_snapshot, "Print the format version of this snapshot state file");
  // The first word is the program's name, the second "v<semver>": Kata Containers (fc.go) and
  // other launchers read the version from there, as from Firecracker's "Firecracker v1.16.1".
  app.set_version_flag("--version", std::string("ember v") + EMBER_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ember::kExitError;
  }
  if (snapshot_version) {
    std::printf("%s\n", ember::supported_snapshot_version().c_str());
    return ember::kExitOk;
  }
  if (app.count("--describe-snapshot") > 0) {
    const auto version = ember::read_snapshot_format_version(describe_snapshot);
    if (!version) return fail("--describe-snapshot: " + version.error().message);
    std::printf("%s\n", ember::snapshot_version_string(*version).c_str());
    return ember::kExitOk;
  }

  ember::LogLevel max_level;
  if (!ember::parse_log_level(level, &max_level)) return fail("--level: unknown log level '" + level + "'");
  if (!valid_instance_id(id)) return fail("--id: '" + id + "' is not 1 to 64 characters, each a letter, a digit or '-'");
  for (const auto& [flag, value] : {std::pair{"--start-time-us", &start_time_us},
                                    std::pair{"--start-time-cpu-us", &start_time_cpu_us},
                                    std::pair{"--parent-cpu-time-us", &parent_cpu_time_us}}) {
    if (!value->empty() && !parse_unsigned(*value)) return fail(std::string(flag) + ": '" + *value + "' is not an unsigned integer");
  }
  ember::ApiServerLimits api_limits;
  if (!max_payload.empty()) {
    const auto limit = parse_unsigned(max_payload);
    if (!limit) return fail("--http-api-max-payload-size: '" + max_payload + "' is not an unsigned integer");
    api_limits.max_body_bytes = *limit;
  }
  // Firecracker (main.rs): without --mmds-size-limit the store takes the API's payload limit.
  size_t mmds_limit = api_limits.max_body_bytes;
  if (!mmds_size_limit.empty()) {
    const auto limit = parse_unsigned(mmds_size_limit);
    if (!limit) return fail("--mmds-size-limit: '" + mmds_size_limit + "' is not an unsigned integer");
    mmds_limit = *limit;
  }
  ember::log_configure(id, max_level);
  ember::log_set_show_level(personality.show_level);
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
  options.vcpu_thread_prefix = personality.vcpu_thread_prefix;
  options.mmds_size_limit = mmds_limit;
  auto vmm = ember::Vmm::create(options);
  if (!vmm) return fail(vmm.error().message);

  // Firecracker fills the store from --metadata before anything else is configured; here it is
  // the same action as PUT /mmds, so the same limit and the same checks hold.
  if (!metadata.empty()) {
    auto text = ember::read_file(metadata, kMaxMetadataFileSize);
    if (!text) return fail("--metadata: " + text.error().message);
    auto put = ember::parse_api_request("PUT", "/mmds", std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    if (!put) return fail("--metadata: " + metadata + ": " + put.error().message);
    auto done = (*vmm)->handle(*put);
    if (!done) return fail("--metadata: " + done.error().message);
    ember::log_info("Successfully added metadata to mmds from file");
  }

  // The same action as PUT /logger with these fields, as Firecracker applies its logger flags.
  if (show_level || show_log_origin || !module.empty()) {
    ember::LoggerConfig logger;
    if (show_level) logger.show_level = true;
    if (show_log_origin) logger.show_log_origin = true;
    if (!module.empty()) logger.module = module;
    auto done = (*vmm)->handle(ember::PutLogger{logger});
    if (!done) return fail("--show-level/--show-log-origin/--module: " + done.error().message);
  }

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
    if (api_sock.empty()) api_sock = personality.api_socket;
    auto server = ember::ApiServer::start(api_sock, (*vmm)->action_handler(), api_limits, personality.api_thread);
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
