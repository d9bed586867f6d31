#include "emberctl/job.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "emberctl/exit_codes.h"
#include "emberctl/paths.h"

namespace ember::ctl {
namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void warn(const std::string& message) { std::fprintf(stderr, "emberctl: %s\n", message.c_str()); }

}  // namespace

Result<CopySpec> parse_copy_in(const std::string& arg) {
  const auto colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == arg.size())
    return make_error("--copy-in '" + arg + "': expected HOST_FILE:GUEST_PATH");
  CopySpec spec{arg.substr(0, colon), arg.substr(colon + 1)};
  if (spec.guest[0] != '/') return make_error("--copy-in '" + arg + "': the guest path must be absolute");
  if (spec.guest.back() == '/') spec.guest += base_name(spec.host);
  if (spec.guest.back() == '/') return make_error("--copy-in '" + arg + "': no file name");
  return spec;
}

Result<CopySpec> parse_copy_out(const std::string& arg) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == arg.size())
    return make_error("--copy-out '" + arg + "': expected GUEST_FILE:HOST_PATH");
  CopySpec spec{arg.substr(colon + 1), arg.substr(0, colon)};
  if (spec.guest[0] != '/') return make_error("--copy-out '" + arg + "': the guest path must be absolute");
  if (spec.guest.back() == '/') return make_error("--copy-out '" + arg + "': the guest path must name a file");
  struct stat st {};
  if (spec.host.back() == '/' || (::stat(spec.host.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
    if (spec.host.back() != '/') spec.host += '/';
    spec.host += base_name(spec.guest);
  }
  return spec;
}

Result<void> check_job(const GuestJob& job, int* code) {
  *code = kExitUsage;
  if (job.command.empty() || job.command[0].empty()) return make_error("no command: emberctl run [OPTIONS] -- COMMAND [ARGS...]");
  for (const auto& e : job.env) {
    const auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) return make_error("--env '" + e + "': expected NAME=value");
  }
  if (!job.workdir.empty() && job.workdir[0] != '/') return make_error("--workdir '" + job.workdir + "' must be absolute");
  *code = kExitMissingInput;
  for (const auto& c : job.copy_in) TRY(check_readable_file(c.host, "--copy-in"));
  return {};
}

int run_job(AgentConnection& agent, const GuestJob& job, const RunContext& ctx, int vm_exit_fd, RunReport& report) {
  using Clock = std::chrono::steady_clock;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // The guest's clock starts from its RTC (or from the snapshot's moment): set it to the host's.
  if (auto r = agent.set_clock(now_ns, ctx.within(std::chrono::seconds(10))); !r) {
    std::string message = "setting the guest clock: " + r.error().message;
    const int code = ctx.fail(kExitAgentLost, &message);
    if (code != kExitAgentLost) {
      report.error = message;
      return code;
    }
    warn(message + " (going on)");
  }

  for (const auto& c : job.copy_in) {
    ctx.progress("copy in " + c.host + " -> " + c.guest);
    if (auto r = agent.copy_in(c.host, c.guest, ctx.overall()); !r) {
      report.error = "--copy-in " + c.host + ":" + c.guest + ": " + r.error().message;
      return ctx.fail(kExitCopyFailed, &report.error);
    }
  }

  agent::ExecRequest request{job.command, job.env, job.workdir};
  ExecIo io;
  io.stdin_fd = ::isatty(0) == 1 ? -1 : 0;
  io.wake_fd = ctx.wake_fd();
  io.vm_exit_fd = vm_exit_fd;
  ctx.progress("running " + job.command[0]);
  const auto exec_start = Clock::now();
  ExecOutcome outcome = agent.exec(request, io, ctx.overall());
  report.command_s = std::chrono::duration<double>(Clock::now() - exec_start).count();

  int code = 0;
  switch (outcome.end) {
    case ExecOutcome::End::kExited:
      report.command_exit_code = outcome.code;
      code = outcome.code;
      break;
    case ExecOutcome::End::kSignaled:
      report.signal = outcome.code;
      code = kExitSignalBase + outcome.code;
      break;
    case ExecOutcome::End::kNotStarted:
      report.error = "cannot run " + job.command[0] + " in the guest: " + outcome.start_error.message;
      return kExitCommandNotStarted;
    case ExecOutcome::End::kTimedOut:
    case ExecOutcome::End::kInterrupted:
    case ExecOutcome::End::kConnectionLost:
    case ExecOutcome::End::kVmExited:
      report.error = outcome.message;
      return ctx.fail(kExitAgentLost, &report.error);
  }
  report.stdout_open_line = !outcome.stdout_ends_with_newline;

  // Copy-outs run whatever the command's status: a failing test's logs are what one wants.
  for (const auto& c : job.copy_out) {
    ctx.progress("copy out " + c.guest + " -> " + c.host);
    if (auto r = agent.copy_out(c.guest, c.host, ctx.overall()); !r) {
      std::string message = "--copy-out " + c.guest + ":" + c.host + ": " + r.error().message;
      const int failed = ctx.fail(kExitCopyFailed, &message);
      if (failed != kExitCopyFailed || code == 0) {
        report.error = message;
        return failed;
      }
      warn(message);  // the command's own failure status wins
    }
  }
  return code;
}

}  // namespace ember::ctl
