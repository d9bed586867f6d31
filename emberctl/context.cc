#include "emberctl/context.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "emberctl/exit_codes.h"

namespace ember::ctl {

RunContext::RunContext(const InterruptWatch& watch, double timeout_s)
    : watch_(watch),
      overall_(timeout_s > 0 ? Deadline::after(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)))
                             : Deadline::never()),
      timeout_s_(timeout_s),
      progress_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()) {}

double RunContext::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void RunContext::progress(const std::string& line) const {
  if (progress_) std::fprintf(stderr, "emberctl: [%6.2fs] %s\n", elapsed_s(), line.c_str());
}

int RunContext::fail(int code, std::string* message) const {
  if (const int sig = watch_.signal(); sig != 0) {
    const char* name = sigabbrev_np(sig);
    *message = std::string("stopped by SIG") + (name != nullptr ? name : std::to_string(sig).c_str());
    return kExitSignalBase + sig;
  }
  if (overall_.expired()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", timeout_s_);
    *message = std::string("timed out after ") + buf + " s (--timeout): " + *message;
    return kExitTimeout;
  }
  return code;
}

}  // namespace ember::ctl
