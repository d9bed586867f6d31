#include "emberctl/vm_host.h"

#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errno_error.h"

namespace ember::ctl {
namespace {

// How long ember gets to open its API socket.
constexpr std::chrono::seconds kApiStartTimeout{20};

}  // namespace

Result<std::unique_ptr<VmHost>> VmHost::create(bool keep) {
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::create(temp_root(), "emberctl-"));
  if (keep) scratch.keep();
  std::unique_ptr<VmHost> host(new VmHost(std::move(scratch)));  // NOLINT: private constructor
  // Unix socket paths are short (sun_path); "_52" may be appended for guest-initiated
  // connections, so leave room for that too.
  if (host->vsock_socket().size() + 8 >= sizeof(sockaddr_un::sun_path))
    return make_error("the scratch folder " + host->dir() + " is too deep for Unix socket paths: set TMPDIR to a shorter path");
  return host;
}

VmHost::~VmHost() {
  ember_.reset();
  tap_.reset();
}

Result<void> VmHost::create_tap(const std::string& name) {
  ASSIGN_OR_RETURN(TapDevice tap, TapDevice::create(name));
  tap_.emplace(std::move(tap));
  return {};
}

const std::string& VmHost::tap_name() const {
  static const std::string none;
  return tap_ ? tap_->name() : none;
}

Result<ApiClient> VmHost::start_ember(const std::string& binary, const RunContext& ctx) {
  EmberLaunch launch;
  launch.binary = binary;
  launch.api_socket = api_socket();
  launch.console_log = console_log();
  launch.ember_log = ember_log();
  launch.id = "emberctl-" + std::to_string(::getpid());
  ASSIGN_OR_RETURN(EmberProcess process, EmberProcess::spawn(launch));
  ember_.emplace(std::move(process));
  const Deadline deadline = ctx.within(kApiStartTimeout);
  for (;;) {
    TRY(ember_alive());
    if (::access(launch.api_socket.c_str(), F_OK) == 0) {
      auto client = ApiClient::connect(launch.api_socket, std::chrono::seconds(30));
      if (client) return std::move(client).value();
      if (deadline.expired()) return client.error();
    } else if (deadline.expired()) {
      return make_error("ember did not open its API socket " + launch.api_socket + " in time");
    }
    pollfd p{ctx.wake_fd(), POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) return make_error("interrupted");
  }
}

Result<AgentConnection> VmHost::wait_for_guest_agent(const RunContext& ctx, double timeout_s,
                                                     agent::ReadyReport* ready) {
  const auto limit = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  return wait_for_agent(vsock_socket(), ctx.within(limit), ctx.wake_fd(), [this] { return ember_alive(); }, ready);
}

Result<void> VmHost::ember_alive() {
  if (!ember_) return make_error("ember is not running");
  if (auto status = ember_->poll_exit())
    return make_error("ember ended (" + EmberProcess::describe(*status) + ")");
  return {};
}

int VmHost::stop_ember() {
  if (!ember_) return 0;
  const int status = ember_->stop();
  ember_.reset();
  return status;
}

std::string VmHost::diagnostics() {
  std::string out;
  if (ember_) {
    // A failed request may be ember going down: give it a moment to be seen.
    pollfd p{ember_->exit_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 200);
    if (auto status = ember_->poll_exit()) out += "--- ember ended: " + EmberProcess::describe(*status) + " ---\n";
  }
  const std::string console = tail_of_file(console_log(), 25);
  if (!console.empty()) out += "--- guest console (last lines) ---\n" + console;
  const std::string log = tail_of_file(ember_log(), 10);
  if (!log.empty()) out += "--- ember log (last lines) ---\n" + log;
  return out;
}

}  // namespace ember::ctl
