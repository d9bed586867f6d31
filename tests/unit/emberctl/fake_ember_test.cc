// A stand-in for ember in emberctl's host tests: the real API server (so emberctl's request
// bodies go through ember's own parser) with a handler that records what it is asked, and on
// InstanceStart (or a snapshot load) a hybrid-vsock listener that answers "CONNECT 52" with the
// real agent session, running commands on the host. No VM, no /dev/kvm.
//
// The unit test binary plays it: a shell script named `ember` (see emberctl_run_test.cc) execs
// the binary with EMBERCTL_FAKE_EMBER=1 and --gtest_filter=EmberctlFakeEmber.EntryPoint, whose
// test body below runs the fake with the process's arguments. Environment it reads:
//   EMBERCTL_FAKE_LOG      append one line per event to this file ("vsock <path>", ...)
//   EMBERCTL_FAKE_MODE     "no-agent": never listen on the vsock; "exit-on-start": exit 2 right
//                          after InstanceStart
//   EMBERCTL_FAKE_VERSION  what GET /version reports (default "fake-1")
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "vmm/controller/action.h"
#include "api/response.h"
#include "api/server.h"
#include "agent/session.h"
#include "base/unique_fd.h"

namespace ember::ctl {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

class FakeEmber : public ActionHandler {
 public:
  FakeEmber() : log_path_(env_or("EMBERCTL_FAKE_LOG", "")), mode_(env_or("EMBERCTL_FAKE_MODE", "")) {
    session_.agent_version = "fake-agent";
    session_.base_env = agent::default_base_environment();
    session_.set_clock = [this](int64_t ns) -> Result<void> {
      log("clock " + std::to_string(ns));
      return {};
    };
    log("pid " + std::to_string(::getpid()));
  }
  ~FakeEmber() override { shutdown(); }

  ActionResult handle(const VmmAction& action) override {
    std::lock_guard lock(mu_);
    if (std::get_if<GetVersion>(&action)) return ActionOutput{VmmVersion{env_or("EMBERCTL_FAKE_VERSION", "fake-1")}};
    if (auto* a = std::get_if<PutBootSource>(&action)) {
      log("kernel " + a->config.kernel_image_path);
      log("initrd " + a->config.initrd_path.value_or(""));
      log("boot_args " + a->config.boot_args.value_or(""));
    } else if (auto* m = std::get_if<PutMachineConfig>(&action)) {
      log("machine " + std::to_string(m->config.vcpu_count) + " " + std::to_string(m->config.mem_size_mib));
    } else if (auto* d = std::get_if<PutDrive>(&action)) {
      log("drive " + d->config.path_on_host + " root=" + std::to_string(d->config.is_root_device) +
          " ro=" + std::to_string(d->config.is_read_only));
    } else if (auto* n = std::get_if<PutNetworkInterface>(&action)) {
      log("net " + n->config.host_dev_name);
    } else if (auto* v = std::get_if<PutVsock>(&action)) {
      uds_path_ = v->config.uds_path;
      log("vsock " + uds_path_);
    } else if (std::get_if<InstanceStart>(&action)) {
      log("start");
      if (mode_ == "exit-on-start") {
        exit_status_ = 2;  // as if the guest crashed at once: ember exits 2 after answering
        return ActionOutput{};
      }
      if (auto r = listen(uds_path_); !r) return r.error();
    } else if (auto* p = std::get_if<PatchVm>(&action)) {
      log(p->state == RequestedVmState::kPaused ? "pause" : "resume");
    } else if (auto* c = std::get_if<CreateSnapshot>(&action)) {
      log("snapshot-create " + c->params.snapshot_path + " " + c->params.mem_file_path);
      std::ofstream(c->params.snapshot_path) << "fake snapshot\n";
      std::ofstream(c->params.mem_file_path) << "fake memory\n";
    } else if (auto* l = std::get_if<LoadSnapshot>(&action)) {
      const std::string uds = l->params.vsock_override ? l->params.vsock_override->uds_path : "";
      log("snapshot-load " + l->params.snapshot_path + " " + l->params.mem_backend.backend_path + " " + uds +
          " resume=" + std::to_string(l->params.resume_vm));
      if (::access(l->params.snapshot_path.c_str(), R_OK) != 0) return make_error("fake: no snapshot file");
      if (auto r = listen(uds); !r) return r.error();
    }
    return ActionOutput{};
  }

  int exit_status() const { return exit_status_; }

  void shutdown() {
    {
      std::lock_guard lock(mu_);
      if (listener_.valid()) ::shutdown(listener_.get(), SHUT_RDWR);
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      // The sessions see the host hang up: they kill their commands and return.
      for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    if (!listen_path_.empty()) ::unlink(listen_path_.c_str());
    listen_path_.clear();
  }

 private:
  void log(const std::string& line) {
    if (log_path_.empty()) return;
    std::ofstream(log_path_, std::ios::app) << line << "\n";
  }

  Result<void> listen(const std::string& path) {
    if (mode_ == "no-agent") return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return make_error("fake: bad vsock path");
    std::strcpy(addr.sun_path, path.c_str());
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_.get(), 16) != 0)
      return make_error(std::string("fake: listen: ") + std::strerror(errno));
    listen_path_ = path;
    accept_thread_ = std::thread([this] { accept_loop(); });
    return {};
  }

  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // shut down
      std::lock_guard lock(mu_);
      connections_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // The hybrid vsock handshake, then the agent.
  void serve(int fd) {
    UniqueFd conn(fd);
    std::string line;
    char c;
    while (line.size() < 32 && ::read(fd, &c, 1) == 1) {
      line.push_back(c);
      if (c == '\n') break;
    }
    if (line == "CONNECT 52\n") {
      const std::string ok = "OK 1073741824\n";
      if (::write(fd, ok.data(), ok.size()) == static_cast<ssize_t>(ok.size())) (void)agent::serve_connection(fd, session_);
    }
    std::lock_guard lock(mu_);
    std::erase(connections_, fd);
  }

  std::mutex mu_;
  std::string log_path_;
  std::string mode_;
  std::string uds_path_;
  std::string listen_path_;
  UniqueFd listener_;
  std::thread accept_thread_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  agent::SessionOptions session_;
  std::atomic<int> exit_status_{-1};
};

int fake_ember_main(const std::vector<std::string>& args) {
  std::string api_sock;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--api-sock") api_sock = args[i + 1];
  if (api_sock.empty()) return 1;
  // Blocked before any thread exists, so only sigtimedwait below sees them (as in ember).
  sigset_t stop;
  sigemptyset(&stop);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop, sig);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  FakeEmber handler;
  auto server = ApiServer::start(api_sock, handler);
  if (!server) return 1;
  const timespec tick{0, 50'000'000};
  while (handler.exit_status() < 0 && sigtimedwait(&stop, nullptr, &tick) < 0) {
  }
  (*server)->stop();
  handler.shutdown();
  return handler.exit_status() < 0 ? 0 : handler.exit_status();
}

// Only a fake ember when started as one; a normal test run passes it trivially.
TEST(EmberctlFakeEmber, EntryPoint) {
  if (std::getenv("EMBERCTL_FAKE_EMBER") == nullptr) return;
  std::fflush(stdout);
  ::_exit(fake_ember_main(::testing::internal::GetArgvs()));
}

}  // namespace
}  // namespace ember::ctl
