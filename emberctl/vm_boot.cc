#include "emberctl/vm_boot.h"

#include "emberctl/exit_codes.h"

namespace ember::ctl {

std::variant<BootedVm, BootFailure> boot_vm(VmHost& vm, const BootPlan& plan, const RunContext& ctx) {
  // Ember itself or the guest failed: what its console and log last said goes with the message.
  auto vm_failed = [&vm](int code, std::string message, double start_s = 0) {
    return BootFailure(code, std::move(message), vm.diagnostics(), start_s);
  };

  ctx.progress("starting ember");
  auto api = vm.start_ember(plan.ember, ctx);
  if (!api) return vm_failed(kExitVmStartFailed, "starting ember: " + api.error().message);
  if (plan.inspect)
    if (std::optional<BootFailure> failure = plan.inspect(*api)) return std::move(*failure);
  if (auto r = send_calls(*api, plan.calls); !r)
    return vm_failed(kExitVmStartFailed, plan.calls_step + ": " + r.error().message);
  const double start_s = ctx.elapsed_s();
  ctx.progress("VM started; waiting for the guest agent");

  agent::ReadyReport ready;
  auto agent = vm.wait_for_guest_agent(ctx, plan.ready_timeout_s, &ready);
  if (!agent) return vm_failed(kExitGuestNotReady, plan.not_ready + ": " + agent.error().message, start_s);
  const double ready_s = ctx.elapsed_s() - start_s;
  ctx.progress("guest agent " + ready.agent_version + " ready");
  return BootedVm{std::move(api).value(), std::move(agent).value(), std::move(ready), start_s, ready_s};
}

}  // namespace ember::ctl
