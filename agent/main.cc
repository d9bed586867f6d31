// ember-agent: runs in the guest, serves emberctl over AF_VSOCK (agent/README.md).
//
//   ember-agent [--port N]     listen on vsock port N (default 52) for ever
//   ember-agent --version
//
// Each connection is served by a process of its own (fork), so connections run at once and a
// fault in one cannot take the others down. Messages go to stderr (the guest console).
#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/protocol.h"
#include "agent/session.h"
#include "base/unique_fd.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "dev"
#endif

namespace {

void say(const std::string& line) { std::fprintf(stderr, "ember-agent: %s\n", line.c_str()); }

int usage() {
  std::fprintf(stderr, "usage: ember-agent [--port N] | --version\n");
  return 2;
}

// The vsock transport is a module loaded by /init just before; give it a moment to appear.
ember::UniqueFd listen_vsock(uint32_t port) {
  for (int attempt = 0;; ++attempt) {
    ember::UniqueFd s(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.valid()) {
      sockaddr_vm addr{};
      addr.svm_family = AF_VSOCK;
      addr.svm_port = port;
      addr.svm_cid = VMADDR_CID_ANY;
      if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(s.get(), 64) == 0) return s;
    }
    if (attempt == 50) {
      say("cannot listen on vsock port " + std::to_string(port) + ": " + std::strerror(errno));
      return {};
    }
    ::usleep(200 * 1000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t port = ember::agent::kAgentVsockPort;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("ember-agent %s (protocol %u)\n", EMBER_VERSION, ember::agent::kProtocolVersion);
      return 0;
    }
    if (arg == "--port" && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || v == 0 || v > 0xffffffffUL) return usage();
      port = static_cast<uint32_t>(v);
      continue;
    }
    return usage();
  }

  // A host that goes away mid-write must be an EPIPE, not the end of the agent; connection
  // processes are reaped by the kernel (SIGCHLD ignored here, back to default in each of them,
  // which wait for their commands).
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGCHLD, SIG_IGN);

  ember::UniqueFd listener = listen_vsock(port);
  if (!listener.valid()) return 1;
  say(std::string("version ") + EMBER_VERSION + " listening on vsock port " + std::to_string(port));

  ember::agent::SessionOptions options;
  options.agent_version = EMBER_VERSION;
  options.base_env = ember::agent::default_base_environment();
  options.set_clock = ember::agent::set_realtime_clock;

  for (;;) {
    ember::UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      if (errno != EINTR && errno != ECONNABORTED) {
        say(std::string("accept: ") + std::strerror(errno));
        ::usleep(100 * 1000);  // EMFILE and friends: do not spin
      }
      continue;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      say(std::string("fork: ") + std::strerror(errno));
      continue;  // the connection closes; the host retries
    }
    if (pid == 0) {
      ::signal(SIGCHLD, SIG_DFL);
      listener.reset();
      auto served = ember::agent::serve_connection(conn.get(), options);
      if (!served) say("connection: " + served.error().message);
      ::_exit(served ? 0 : 1);
    }
  }
}
