// How every emberctl VM comes up, the same for `run`, `pool create` and `pool run`: ember
// started in the VM's scratch folder and answering its API, a look at it before the guest starts
// (the pools ask for ember's version), the calls that start the guest (a configuration ending
// in InstanceStart, or a snapshot load), then the guest agent's READY.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/client/client.h"
#include "emberctl/agent_client.h"
#include "emberctl/context.h"
#include "emberctl/vm_host.h"
#include "emberctl/vm_spec.h"

namespace ember::ctl {

// A failed step: emberctl's exit status, the message, and (when the VM itself failed) the last
// lines of its console and of ember's log.
struct BootFailure {
  explicit BootFailure(int code, std::string message, std::string diagnostics = "", double start_s = 0)
      : code(code), message(std::move(message)), diagnostics(std::move(diagnostics)), start_s(start_s) {}

  int code;
  std::string message;
  std::string diagnostics;
  double start_s;  // when the guest had started (the agent never answered): the run's time then
};

struct BootPlan {
  std::string ember;  // the binary
  // Runs once the API answers, before `calls`; a failure it returns (without diagnostics: the
  // VM is fine) ends the boot there.
  std::function<std::optional<BootFailure>(ApiClient& api)> inspect;
  std::vector<ApiCall> calls;
  std::string calls_step;  // "configuring the VM": what a failed call's message starts with
  double ready_timeout_s = 120;
  std::string not_ready;   // "the guest agent did not answer": what a failed wait's message starts with
};

struct BootedVm {
  ApiClient api;
  AgentConnection agent;
  agent::ReadyReport ready;
  double start_s = 0;  // the run's time when the calls were answered: the guest runs
  double ready_s = 0;  // from then to the agent's READY
};

// Boots `plan` on `vm`, whose ember it starts, with progress lines on the way. A failure's exit
// status is kExitVmStartFailed for ember and the calls, kExitGuestNotReady for the agent, or
// what the inspection said; the caller passes it through RunContext::fail.
[[nodiscard]] std::variant<BootedVm, BootFailure> boot_vm(VmHost& vm, const BootPlan& plan, const RunContext& ctx);

}  // namespace ember::ctl
