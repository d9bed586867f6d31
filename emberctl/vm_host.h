// Everything one throw-away VM holds on the host: a private scratch folder (API and vsock
// sockets, console and log files, the rootfs copy), the ember process, a tap. Destruction
// stops ember first (SIGTERM, then SIGKILL), then removes the tap, then the folder, so it
// leaves nothing behind whichever way the run ends.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "api/client/client.h"
#include "emberctl/agent_client.h"
#include "emberctl/context.h"
#include "emberctl/ember_process.h"
#include "emberctl/scratch.h"
#include "emberctl/tap_device.h"
#include "base/result.h"

namespace ember::ctl {

class VmHost {
 public:
  // Makes the scratch folder under $TMPDIR (kept after the run when `keep`).
  [[nodiscard]] static Result<std::unique_ptr<VmHost>> create(bool keep);
  ~VmHost();

  [[nodiscard]] const std::string& dir() const { return scratch_.path(); }
  [[nodiscard]] std::string api_socket() const { return scratch_.file("api.sock"); }
  [[nodiscard]] std::string vsock_socket() const { return scratch_.file("vsock.sock"); }
  [[nodiscard]] std::string console_log() const { return scratch_.file("console.log"); }
  [[nodiscard]] std::string ember_log() const { return scratch_.file("ember.log"); }
  [[nodiscard]] std::string file(const std::string& name) const { return scratch_.file(name); }

  [[nodiscard]] Result<void> create_tap(const std::string& name);
  [[nodiscard]] const std::string& tap_name() const;

  // Starts ember and waits until its API socket answers.
  [[nodiscard]] Result<ApiClient> start_ember(const std::string& binary, const RunContext& ctx);
  // Fails once ember has exited (saying how): for waits that must give up when the VM is gone.
  [[nodiscard]] Result<void> ember_alive();
  // Waits for this VM's guest agent to answer, at most `timeout_s` (and within the run's own
  // limits); gives up at once when ember ends.
  [[nodiscard]] Result<AgentConnection> wait_for_guest_agent(const RunContext& ctx, double timeout_s,
                                                             agent::ReadyReport* ready);
  [[nodiscard]] int ember_exit_fd() const { return ember_ ? ember_->exit_fd() : -1; }
  // Stops ember now (also done on destruction); its status as EmberProcess::stop returns it.
  int stop_ember();

  // The last lines of the guest console and of ember's log, and how ember ended if it did,
  // for a failure report.
  [[nodiscard]] std::string diagnostics();

 private:
  explicit VmHost(ScratchDir scratch) : scratch_(std::move(scratch)) {}

  // Destroyed in reverse: ember, then the tap, then the folder.
  ScratchDir scratch_;
  std::optional<TapDevice> tap_;
  std::optional<EmberProcess> ember_;
};

}  // namespace ember::ctl
