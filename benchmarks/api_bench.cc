// API benchmark: how fast ember answers its REST API, and how soon after exec it can.
//
//   latency   p50 / p99 (and min, max) of sequential requests on one kept-alive connection,
//             with the api/ client library: GET / and PUT /drives/{id} (alternating two drive
//             ids) before InstanceStart, and GET / again once the guest has booted and idles
//   rate      the same requests back to back: requests per second
//   start-up  from just before fork+exec of ember until its API socket is ready (its
//             "API server listening" log line, written right after listen(); a connect() then
//             confirms it), median of N starts
//
// This process and ember (every thread of it: VMM, API, vCPU) are pinned to one CPU, so the
// figures include each request's thread hand-offs on a single core, not parallelism. The guest
// is a freestanding test guest (boottime: it prints READY and halts), as tests/kvm uses.
// See benchmarks/README.md.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/client/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// An ember child with its stdout and stderr on pipes that this process reads.
class EmberProcess {
 public:
  EmberProcess() = default;
  EmberProcess(const EmberProcess&) = delete;
  EmberProcess& operator=(const EmberProcess&) = delete;
  ~EmberProcess() { stop(); }

  // Forks and execs `argv`; `started` is taken just before fork().
  bool spawn(const std::vector<std::string>& argv, Clock::time_point* started) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return false;
    *started = Clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    return pid_ > 0;
  }

  // Reads both pipes until `needle` shows up in stdout (or stderr); the time it arrived, or
  // nullopt on timeout or exit.
  std::optional<Clock::time_point> wait_for(const std::string& needle, bool in_stderr,
                                            std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if ((in_stderr ? err_ : out_).find(needle) != std::string::npos) return Clock::now();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
      bool open = false;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0) continue;
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
          open = true;
          continue;
        }
        char buf[4096];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
          open = true;
        }
      }
      if (!open) return std::nullopt;  // both pipes closed: ember exited
    }
  }

  const std::string& err() const { return err_; }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(10'000);
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
    out_fd_ = err_fd_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

bool can_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A temporary directory (the API socket, the drives' files), removed with what it holds.
struct ScratchDir {
  ScratchDir() {
    char tmpl[] = "/tmp/ember-api-bench-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path;
};

struct Summary {
  std::string name;
  size_t count = 0;
  double p50 = 0, p99 = 0, min = 0, max = 0, mean = 0;
  double per_second = 0;  // requests per second, back to back; 0 where not a rate
};

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Summary summarize(std::string name, std::vector<double> samples, double total_us) {
  Summary s;
  s.name = std::move(name);
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.p50 = percentile(samples, 50);
  s.p99 = percentile(samples, 99);
  s.min = samples.front();
  s.max = samples.back();
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean = sum / static_cast<double>(samples.size());
  if (total_us > 0) s.per_second = static_cast<double>(samples.size()) / (total_us / 1e6);
  return s;
}

struct Options {
  std::string ember = EMBER_BINARY;
  std::string guest = std::string(EMBER_GUEST_DIR) + "/boottime.elf";
  int cpu = -1;
  int requests = 2000;
  int warmup = 200;
  int starts = 20;
  std::string json;
};

// Sends `requests` requests made by `make` after `warmup` unmeasured ones; every answer must
// have status `expect`. Empty on failure (reported).
std::optional<Summary> measure(ember::ApiClient& client, const std::string& name, const Options& o, int expect,
                               const std::function<std::pair<std::string, std::string>(int)>& make,
                               const std::string& method) {
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(o.requests));
  Clock::time_point first{};
  for (int i = 0; i < o.warmup + o.requests; ++i) {
    const auto [path, body] = make(i);
    const auto t0 = Clock::now();
    if (i == o.warmup) first = t0;
    auto r = client.request(method, path, body);
    const auto t1 = Clock::now();
    if (!r.ok() || r->status != expect) {
      std::fprintf(stderr, "api_bench: %s %s: %s\n", method.c_str(), path.c_str(),
                   r.ok() ? ("status " + std::to_string(r->status) + " " + r->body).c_str() : r.error().message.c_str());
      return std::nullopt;
    }
    if (i >= o.warmup) samples.push_back(us_between(t0, t1));
  }
  return summarize(name, std::move(samples), us_between(first, Clock::now()));
}

int run(const Options& o) {
  // Pin first: the ember children inherit the mask.
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpu = o.cpu;
  if (cpu < 0) {
    cpu_set_t current;
    if (::sched_getaffinity(0, sizeof current, &current) != 0) return 1;
    for (int c = 0; c < CPU_SETSIZE && cpu < 0; ++c)
      if (CPU_ISSET(c, &current)) cpu = c;
  }
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("api_bench: sched_setaffinity");
    return 1;
  }
  if (::access(o.ember.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "api_bench: no ember binary at %s (build it, or pass --ember)\n", o.ember.c_str());
    return 1;
  }
  if (::access(o.guest.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "api_bench: no test guest at %s (build ember_guests, or pass --guest)\n", o.guest.c_str());
    return 1;
  }
  const ScratchDir scratch;
  if (scratch.path.empty()) return 1;
  const std::string& dir = scratch.path;
  const std::string sock = dir + "/api.sock";

  // 1. exec -> API socket ready.
  std::vector<double> starts;
  for (int i = 0; i < o.starts; ++i) {
    EmberProcess ember;
    Clock::time_point t0;
    if (!ember.spawn({o.ember, "--api-sock", sock, "--id", "api-bench"}, &t0)) return 1;
    auto ready = ember.wait_for("API server listening", /*in_stderr=*/true, 10s);
    if (!ready || !can_connect(sock)) {
      std::fprintf(stderr, "api_bench: ember did not get its API socket ready:\n%s\n", ember.err().c_str());
      return 1;
    }
    starts.push_back(us_between(t0, *ready));
    ember.stop();
    ::unlink(sock.c_str());
  }
  const Summary startup = summarize("exec -> API socket ready", starts, 0);

  // 2. Request latency and rate.
  EmberProcess ember;
  Clock::time_point t0;
  if (!ember.spawn({o.ember, "--api-sock", sock, "--id", "api-bench"}, &t0) ||
      !ember.wait_for("API server listening", true, 10s)) {
    std::fprintf(stderr, "api_bench: ember did not start:\n%s\n", ember.err().c_str());
    return 1;
  }
  auto client = ember::ApiClient::connect(sock, 10s);
  if (!client.ok()) {
    std::fprintf(stderr, "api_bench: %s\n", client.error().message.c_str());
    return 1;
  }
  const std::string disks[2] = {dir + "/a.img", dir + "/b.img"};
  for (const auto& d : disks) std::ofstream(d, std::ios::binary) << std::string(1 << 20, '\0');
  std::vector<Summary> results;

  auto get_root = measure(*client, "GET / (before InstanceStart)", o, 200,
                          [](int) { return std::make_pair(std::string("/"), std::string()); }, "GET");
  if (!get_root) return 1;
  results.push_back(*get_root);
  auto put_drive = measure(
      *client, "PUT /drives/{id} (before InstanceStart)", o, 204,
      [&](int i) {
        const std::string id = i % 2 == 0 ? "bench_a" : "bench_b";
        return std::make_pair("/drives/" + id, R"({"drive_id": ")" + id + R"(", "path_on_host": ")" +
                                                   disks[i % 2] + R"(", "is_root_device": false})");
      },
      "PUT");
  if (!put_drive) return 1;
  results.push_back(*put_drive);

  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 64})"},
           {"/boot-source", R"({"kernel_image_path": ")" + o.guest + R"(", "boot_args": "console=ttyS0"})"},
           {"/actions", R"({"action_type": "InstanceStart"})"}}) {
    auto r = client->request("PUT", path, body);
    if (!r.ok() || r->status != 204) {
      std::fprintf(stderr, "api_bench: PUT %s failed: %s\n", path.c_str(),
                   r.ok() ? r->body.c_str() : r.error().message.c_str());
      return 1;
    }
  }
  if (!ember.wait_for("READY", /*in_stderr=*/false, 30s)) {
    std::fprintf(stderr, "api_bench: the guest did not print READY:\n%s\n", ember.err().c_str());
    return 1;
  }
  auto get_running = measure(*client, "GET / (guest booted, halted)", o, 200,
                             [](int) { return std::make_pair(std::string("/"), std::string()); }, "GET");
  if (!get_running) return 1;
  results.push_back(*get_running);
  ember.stop();

  std::printf("ember API benchmark: %s, guest %s\n", o.ember.c_str(), o.guest.c_str());
  std::printf("client and ember pinned to CPU %d; %d requests per row after %d warm-up, one connection\n\n", cpu,
              o.requests, o.warmup);
  std::printf("%-42s %9s %9s %9s %9s %11s\n", "request", "p50 us", "p99 us", "min us", "max us", "req/s");
  for (const auto& s : results)
    std::printf("%-42s %9.1f %9.1f %9.1f %9.1f %11.0f\n", s.name.c_str(), s.p50, s.p99, s.min, s.max, s.per_second);
  std::printf("\n%-42s %9s %9s %9s\n", "start-up", "median ms", "min ms", "max ms");
  std::printf("%-42s %9.2f %9.2f %9.2f   (%zu starts)\n", startup.name.c_str(), startup.p50 / 1000, startup.min / 1000,
              startup.max / 1000, startup.count);

  if (!o.json.empty()) {
    nlohmann::json j;
    j["cpu"] = cpu;
    j["requests"] = o.requests;
    j["warmup"] = o.warmup;
    for (const auto& s : results)
      j["requests_us"].push_back({{"request", s.name}, {"p50", s.p50}, {"p99", s.p99}, {"min", s.min},
                                  {"max", s.max}, {"mean", s.mean}, {"per_second", s.per_second}});
    j["startup_us"] = starts;
    std::ofstream(o.json) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ember API benchmark: request latency and rate, and exec to API socket ready", "api_bench"};
  app.add_option("--ember", o.ember, "ember binary")->capture_default_str();
  app.add_option("--guest", o.guest, "freestanding test guest (prints READY, then halts)")->capture_default_str();
  app.add_option("--cpu", o.cpu, "CPU for this process and ember (default: the first one allowed)");
  app.add_option("--requests", o.requests, "measured requests per row")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "unmeasured requests before each row")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--starts", o.starts, "ember starts for the start-up time")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--json", o.json, "also write every figure here");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  return run(o);
}
