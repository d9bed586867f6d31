#include "emberctl/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "base/errno_error.h"

namespace ember::ctl {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

volatile sig_atomic_t g_signal = 0;
int g_pipe[2] = {-1, -1};
struct sigaction g_old[3];

void on_signal(int sig) {
  const int saved = errno;
  if (g_signal == 0) g_signal = sig;
  const char byte = 1;
  (void)!::write(g_pipe[1], &byte, 1);  // non-blocking: a full pipe is already "woken"
  errno = saved;
}

}  // namespace

Result<InterruptWatch> InterruptWatch::install() {
  if (g_pipe[0] >= 0) return make_error("internal: a second InterruptWatch");
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe");
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &g_old[i]);
  InterruptWatch w;
  w.owner_ = true;
  return w;
}

InterruptWatch::InterruptWatch(InterruptWatch&& other) noexcept : owner_(std::exchange(other.owner_, false)) {}

InterruptWatch::~InterruptWatch() {
  if (!owner_) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &g_old[i], nullptr);
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int InterruptWatch::fd() const { return g_pipe[0]; }
int InterruptWatch::signal() const { return g_signal; }

}  // namespace ember::ctl
