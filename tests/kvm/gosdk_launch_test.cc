// firecracker-go-sdk (v1.0.0 and its main branch: machine.go, handlers.go, firecracker.go,
// command_builder.go, drives.go, the go-swagger models in client/models) driving ember invoked
// through a `firecracker` symlink: the command line, the request sequence of the default handler
// chain and every body as the SDK puts it on the wire, and the checks the SDK makes on each answer.
//
// How the SDK talks (go-openapi/runtime v0.24.0 over Go's net/http, one Unix-socket transport):
//   - one connection kept alive across requests; bodies are the models encoded by encoding/json
//     (fields in struct order, which go-swagger makes alphabetical; nil pointers and empty
//     omitempty fields left out; no spaces; a trailing newline from json.Encoder) with a
//     Content-Length, Content-Type and Accept application/json;
//   - an answer is accepted when its status is 2xx (the SDK's callers see no other detail), its
//     Content-Type is absent or a media type the runtime has a consumer for; a 200 is decoded by
//     encoding/json into the model (a field of the wrong JSON type fails the call, unknown fields
//     are ignored). Each call has a timeout (500 ms, 250 ms for PUT /drives, 3 s for the socket
//     to answer at start): here the waits are generous, as tests must not assert timings.
//
// The Config is a typical one: a log FIFO whose lines the SDK copies to a writer (FifoLogWriter),
// a metrics file, 2 vCPUs with smt (x86_64), the ticker guest as the kernel, one root drive with a
// rate limiter, one network interface with both rate limiters (its tap is created by ember, as
// root, as in fc_test_metrics_test.cc), one vsock; no MMDS (ConfigMmdsHandler sends nothing when
// no interface allows MMDS), no jailer, Seccomp.Enabled false (so `--no-seccomp`).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "tests/kvm/client_launch.h"
#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The Go types of the models' fields, as encoding/json decodes them (a pointer or plain field
// alike: null leaves it unset).
enum class GoType { kInt64, kBool, kString };
using GoModel = std::map<std::string, GoType>;

const GoModel kMachineConfiguration = {{"cpu_template", GoType::kString},
                                       {"mem_size_mib", GoType::kInt64},
                                       {"smt", GoType::kBool},
                                       {"track_dirty_pages", GoType::kBool},
                                       {"vcpu_count", GoType::kInt64}};
const GoModel kInstanceInfo = {{"app_name", GoType::kString},
                               {"id", GoType::kString},
                               {"state", GoType::kString},
                               {"vmm_version", GoType::kString}};
const GoModel kFirecrackerVersion = {{"firecracker_version", GoType::kString}};
const GoModel kDrive = {{"cache_type", GoType::kString},   {"drive_id", GoType::kString},
                        {"io_engine", GoType::kString},    {"is_read_only", GoType::kBool},
                        {"is_root_device", GoType::kBool}, {"partuuid", GoType::kString},
                        {"path_on_host", GoType::kString}};
const GoModel kNetworkInterface = {
    {"guest_mac", GoType::kString}, {"host_dev_name", GoType::kString}, {"iface_id", GoType::kString}};
const GoModel kVsock = {{"guest_cid", GoType::kInt64}, {"uds_path", GoType::kString}, {"vsock_id", GoType::kString}};
const GoModel kTokenBucket = {
    {"one_time_burst", GoType::kInt64}, {"refill_time", GoType::kInt64}, {"size", GoType::kInt64}};

// Whether encoding/json decodes `v` into a struct with `model`'s fields; what fails, if not.
std::string go_decode_failure(const json& v, const GoModel& model, const std::string& where) {
  if (v.is_null()) return "";
  if (!v.is_object()) return where + " is not an object";
  for (const auto& [name, type] : model) {
    if (!v.contains(name) || v[name].is_null()) continue;
    const json& f = v[name];
    const bool fits = type == GoType::kInt64    ? f.is_number_integer()
                      : type == GoType::kBool   ? f.is_boolean()
                                                : f.is_string();
    if (!fits) return where + "." + name + " cannot be decoded: " + f.dump();
  }
  return "";
}

// The rate limiter of the SDK's models: {bandwidth, ops}, each a TokenBucket.
std::string go_decode_rate_limiter(const json& v, const std::string& where) {
  if (v.is_null()) return "";
  std::string failure;
  for (const char* bucket : {"bandwidth", "ops"})
    if (v.is_object() && v.contains(bucket)) failure += go_decode_failure(v[bucket], kTokenBucket, where + "." + bucket);
  return failure;
}

// `v` without its null members (what encoding/json leaves unset), for comparing with a model
// the SDK sent.
json without_nulls(const json& v) {
  if (!v.is_object()) return v;
  json out = json::object();
  for (const auto& [key, value] : v.items())
    if (!value.is_null()) out[key] = without_nulls(value);
  return out;
}

// Go's net/http Transport with go-openapi's request writer, on one kept-alive connection.
class GoSdkClient {
 public:
  explicit GoSdkClient(std::string sock) : sock_(std::move(sock)) {}

  struct Answer {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string failure;  // why the SDK's call fails on this answer (transport or runtime), or ""
  };

  // One call. `body`: the model, encoded as encoding/json does (see the file comment).
  Answer call(const std::string& method, const std::string& path, const std::optional<json>& body = std::nullopt) {
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Go-http-client/1.1\r\n";
    std::string payload;
    if (body) {
      payload = body->dump() + "\n";
      request += "Content-Length: " + std::to_string(payload.size()) + "\r\n";
    }
    request += "Accept: application/json\r\n";
    if (body) request += "Content-Type: application/json\r\n";
    request += "Accept-Encoding: gzip\r\n\r\n" + payload;
    Answer a;
    if (!connected() && !connect()) {
      a.failure = "cannot connect to " + sock_;
      return a;
    }
    if (!write_all(request)) {
      // The Transport retries a request on a fresh connection when the idle one was closed.
      fd_.reset();
      if (!connect() || !write_all(request)) {
        a.failure = "cannot send the request";
        return a;
      }
    }
    if (!read_answer(a)) {
      fd_.reset();
      a.failure = "no complete answer";
      return a;
    }
    const auto connection = a.headers.find("connection");
    if (connection != a.headers.end() && connection->second == "close") fd_.reset();
    // runtime.Submit: the consumer for the answer's media type (absent: application/json).
    const auto type = a.headers.find("content-type");
    if (type != a.headers.end()) {
      std::string media = type->second.substr(0, type->second.find(';'));
      while (!media.empty() && media.back() == ' ') media.pop_back();
      static const std::set<std::string> kConsumers = {"application/json", "application/x-yaml", "application/xml",
                                                       "text/plain",       "text/html",          "text/csv",
                                                       "application/octet-stream"};
      if (!kConsumers.contains(media)) a.failure = "no consumer: \"" + type->second + "\"";
    }
    return a;
  }

  // A PUT or PATCH whose answer the SDK takes as success (Firecracker answers 204).
  void no_content(const std::string& method, const std::string& path, const json& body) {
    const Answer a = call(method, path, body);
    EXPECT_EQ(a.failure, "") << method << " " << path;
    EXPECT_EQ(a.status, 204) << method << " " << path << " " << body.dump() << " -> " << a.body;
  }

  // A GET the SDK decodes into `model` (status 200, JSON); the decoded JSON.
  json ok(const std::string& path, const GoModel& model) {
    const Answer a = call("GET", path);
    EXPECT_EQ(a.failure, "") << "GET " << path;
    EXPECT_EQ(a.status, 200) << "GET " << path << " -> " << a.body;
    EXPECT_EQ(a.headers.count("content-type") ? a.headers.at("content-type") : "", "application/json") << path;
    const json v = json::parse(a.body, nullptr, false);
    EXPECT_TRUE(v.is_object()) << path << ": " << a.body;
    EXPECT_EQ(go_decode_failure(v, model, path), "") << a.body;
    return v;
  }

  // waitForSocket: every 10 ms, the socket file exists and GET /machine-config succeeds.
  bool wait_for_socket(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      struct stat st {};
      if (::stat(sock_.c_str(), &st) == 0) {
        const Answer a = call("GET", "/machine-config");
        if (a.failure.empty() && a.status / 100 == 2) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

 private:
  bool connected() const { return fd_.valid(); }
  bool connect() {
    fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof addr.sun_path - 1);
    if (!fd_.valid() || ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      fd_.reset();
      return false;
    }
    timeval tv{10, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return true;
  }
  bool write_all(const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      const ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool read_answer(Answer& a) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!read_more()) return false;
    std::istringstream head(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    std::string line;
    std::getline(head, line);
    if (line.size() < 12 || line.rfind("HTTP/1.1 ", 0) != 0) return false;
    a.status = std::atoi(line.c_str() + 9);
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      a.headers[name] = value;
    }
    const size_t length = a.headers.count("content-length") ? std::stoul(a.headers["content-length"]) : 0;
    while (buffer_.size() < length)
      if (!read_more()) return false;
    a.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return true;
  }
  bool read_more() {
    char buf[4096];
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::string sock_;
  UniqueFd fd_;
  std::string buffer_;
};

std::string read_file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// NewRateLimiter(bandwidth, ops) built with TokenBucketBuilder (WithBucketSize,
// WithRefillDuration in ms, WithInitialSize as one_time_burst).
json sdk_rate_limiter(int64_t bytes, int64_t ops) {
  return {{"bandwidth", {{"one_time_burst", bytes}, {"refill_time", 100}, {"size", bytes}}},
          {"ops", {{"refill_time", 100}, {"size", ops}}}};
}

// The SDK's Machine for one test: the Config's paths, the VMM process, the client.
class GoSdkLaunch : public ::testing::Test {
 protected:
  void SetUp() override {
    require_kvm();
    fc_ = firecracker_link(dir_.path(), EMBER_BINARY);
  }

  // NewMachine + Start with the default handler chain; ends with the guest running.
  void start_default_chain() {
    // Validation handlers: NetworkConfigValidationHandler (the one interface has a HostDevName
    // and no IP configuration), ConfigValidationHandler (the kernel and the root drive exist,
    // the socket does not, vCPUs and memory are set).
    root_ = dir_.write("root.img", std::string(1 << 20, '\0'));
    ASSERT_TRUE(std::filesystem::exists(guest_path("ticker")));
    ASSERT_FALSE(std::filesystem::exists(sock_));

    // SetupNetworkHandler: nothing for a static interface (no CNI). SetupKernelArgsHandler
    // re-joins the arguments from a Go map, in no fixed order: any order boots.
    // StartVMMHandler: `firecracker --api-sock S --id VMID --no-seccomp` (configureBuilder with
    // seccompArgs: Seccomp.Enabled is false), then waitForSocket.
    vmm_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{fc_, "--api-sock", sock_, "--id", vmid_, "--no-seccomp"});
    sdk_ = std::make_unique<GoSdkClient>(sock_);
    ASSERT_TRUE(sdk_->wait_for_socket(30s)) << vmm_->err();

    // CreateLogFilesHandler: the metrics file (O_RDWR|O_CREATE|O_APPEND, 0600), the log FIFO
    // (mkfifo 0700), which captureFifoToFile opens O_RDONLY|O_NONBLOCK and copies from.
    { UniqueFd metrics(::open(metrics_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)); }
    ASSERT_EQ(::mkfifo(log_fifo_.c_str(), 0700), 0);
    log_reader_ = UniqueFd(::open(log_fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(log_reader_.valid());

    // BootstrapLoggingHandler: setupLogging (ShowLevel true, ShowLogOrigin false), setupMetrics.
    sdk_->no_content("PUT", "/logger",
                     {{"level", "Debug"}, {"log_path", log_fifo_}, {"show_level", true}, {"show_log_origin", false}});
    sdk_->no_content("PUT", "/metrics", {{"metrics_path", metrics_}});

    // CreateMachineHandler: PUT, then refreshMachineConfiguration's GET.
    sdk_->no_content("PUT", "/machine-config", {{"mem_size_mib", 128}, {"smt", true}, {"vcpu_count", 2}});
    const json machine = sdk_->ok("/machine-config", kMachineConfiguration);
    EXPECT_EQ(machine.value("vcpu_count", 0), 2) << machine.dump();
    EXPECT_EQ(machine.value("mem_size_mib", 0), 128) << machine.dump();
    EXPECT_EQ(machine.value("smt", false), true) << machine.dump();

    // CreateBootSourceHandler: no initrd, so initrd_path is left out.
    sdk_->no_content("PUT", "/boot-source",
                     {{"boot_args", "panic=1 pci=off console=ttyS0 reboot=k"}, {"kernel_image_path", guest_path("ticker")}});

    // AttachDrivesHandler: NewDrivesBuilder(root).WithRootDrive(root, WithRateLimiter(..),
    // WithCacheType("Unsafe"), WithIoEngine("Sync")): drive "root_drive", read-write.
    drive_ = {{"cache_type", "Unsafe"},     {"drive_id", "root_drive"}, {"io_engine", "Sync"},
              {"is_read_only", false},      {"is_root_device", true},   {"path_on_host", root_},
              {"rate_limiter", sdk_rate_limiter(10 << 20, 1000)}};
    sdk_->no_content("PUT", "/drives/root_drive", drive_);

    // CreateNetworkInterfacesHandler: interface i gets the id "i+1"; InRateLimiter is rx,
    // OutRateLimiter tx.
    iface_ = {{"guest_mac", "06:00:ac:10:00:02"},
              {"host_dev_name", tap_},
              {"iface_id", "1"},
              {"rx_rate_limiter", sdk_rate_limiter(20 << 20, 2000)},
              {"tx_rate_limiter", sdk_rate_limiter(30 << 20, 3000)}};
    sdk_->no_content("PUT", "/network-interfaces/1", iface_);

    // AddVsocksHandler: VsockDevice{ID, Path, CID}.
    sdk_->no_content("PUT", "/vsock", {{"guest_cid", 3}, {"uds_path", vsock_}, {"vsock_id", "vsock0"}});

    // ConfigMmdsHandler: no interface has AllowMMDS: no request. Then startInstance.
    sdk_->no_content("PUT", "/actions", {{"action_type", "InstanceStart"}});
    ASSERT_TRUE(vmm_->wait_for_output("tick 1\n", 30s)) << vmm_->out() << vmm_->err();
  }

  // StopVMM: SIGTERM, and the process ends (cmd.Wait).
  void stop_vmm(BackgroundProcess& vmm) {
    vmm.send_signal(SIGTERM);
    EXPECT_FALSE(vmm.wait(15s).timed_out) << vmm.err();
  }

  // What captureFifoToFile has copied so far.
  std::string fifo_log() {
    char buf[4096];
    for (ssize_t n; (n = ::read(log_reader_.get(), buf, sizeof buf)) > 0;) log_.append(buf, static_cast<size_t>(n));
    return log_;
  }

  TempDir dir_;
  std::string fc_;
  const std::string vmid_ = "a7c1e5f2-3b4d-4e6f-8a9b-0c1d2e3f4a5b";
  const std::string sock_ = dir_.path() + "/firecracker.sock";
  const std::string log_fifo_ = dir_.path() + "/fc.log.fifo";
  const std::string metrics_ = dir_.path() + "/fc.metrics";
  const std::string vsock_ = dir_.path() + "/fc.vsock";
  // Tap names are at most 15 characters and must not collide with a parallel run.
  const std::string tap_ = "gsdk" + std::to_string(::getpid() % 100000) + "t0";
  std::string root_;
  json drive_;
  json iface_;
  std::unique_ptr<BackgroundProcess> vmm_;
  std::unique_ptr<GoSdkClient> sdk_;
  UniqueFd log_reader_;
  std::string log_;
};

TEST_F(GoSdkLaunch, DefaultHandlerChain) {
  ASSERT_NO_FATAL_FAILURE(start_default_chain());

  // The vsock's Unix socket is there for the host side (the SDK's vsock package dials it).
  struct stat st {};
  EXPECT_EQ(::stat(vsock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  // DescribeInstanceInfo, GetFirecrackerVersion, GetExportVMConfig, as the SDK decodes them.
  const json info = sdk_->ok("/", kInstanceInfo);
  EXPECT_EQ(info.value("id", ""), vmid_);
  EXPECT_EQ(info.value("state", ""), "Running");
  const json version = sdk_->ok("/version", kFirecrackerVersion);
  EXPECT_FALSE(version.value("firecracker_version", "").empty());
  const json config = sdk_->ok("/vm/config", {});
  EXPECT_EQ(go_decode_failure(config.value("machine-config", json()), kMachineConfiguration, "machine-config"), "");
  ASSERT_TRUE(config.contains("drives") && config["drives"].is_array() && config["drives"].size() == 1) << config.dump();
  const json& drive = config["drives"][0];
  EXPECT_EQ(go_decode_failure(drive, kDrive, "drives[0]"), "");
  EXPECT_EQ(go_decode_rate_limiter(drive.value("rate_limiter", json()), "drives[0].rate_limiter"), "");
  EXPECT_EQ(without_nulls(drive.value("rate_limiter", json())), drive_["rate_limiter"]) << drive.dump();
  EXPECT_EQ(drive.value("path_on_host", ""), root_);
  ASSERT_TRUE(config.contains("network-interfaces") && config["network-interfaces"].size() == 1) << config.dump();
  const json& iface = config["network-interfaces"][0];
  EXPECT_EQ(go_decode_failure(iface, kNetworkInterface, "network-interfaces[0]"), "");
  for (const char* limiter : {"rx_rate_limiter", "tx_rate_limiter"}) {
    EXPECT_EQ(go_decode_rate_limiter(iface.value(limiter, json()), limiter), "");
    EXPECT_EQ(without_nulls(iface.value(limiter, json())), iface_[limiter]) << iface.dump();
  }
  EXPECT_EQ(go_decode_failure(config.value("vsock", json()), kVsock, "vsock"), "");
  EXPECT_EQ(config["vsock"].value("uds_path", ""), vsock_) << config.dump();

  // The log FIFO carries ember's log (level Debug, the API requests among it).
  bool logged = false;
  for (int i = 0; i < 300 && !logged; ++i) {
    logged = fifo_log().find(R"(The API server received a Put request on "/actions")") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(logged) << fifo_log();
  EXPECT_NE(fifo_log().find("[" + vmid_ + ":"), std::string::npos) << fifo_log();

  stop_vmm(*vmm_);
  // The metrics file holds one JSON object a line (the last written at exit).
  const std::string lines = read_file_text(metrics_);
  ASSERT_FALSE(lines.empty()) << "nothing in the metrics file";
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      EXPECT_TRUE(json::parse(line, nullptr, false).is_object()) << line;
    }
  }
}

// PauseVM, CreateSnapshot, ResumeVM, UpdateGuestDrive on the running VM; then StopVMM and a new
// Machine started WithSnapshot(mem, snapshot, ResumeVM = true), as the SDK's TestLoadSnapshot
// does: its chain drops the configuration handlers and ends with LoadSnapshotHandler, and
// startInstance sends nothing.
TEST_F(GoSdkLaunch, PauseResumeSnapshot) {
  ASSERT_NO_FATAL_FAILURE(start_default_chain());
  const std::string mem = dir_.path() + "/snapshot.mem";
  const std::string state = dir_.path() + "/snapshot.state";

  sdk_->no_content("PATCH", "/vm", {{"state", "Paused"}});
  EXPECT_EQ(sdk_->ok("/", kInstanceInfo).value("state", ""), "Paused");
  sdk_->no_content("PUT", "/snapshot/create", {{"mem_file_path", mem}, {"snapshot_path", state}});
  EXPECT_GT(std::filesystem::file_size(mem), 0u);
  EXPECT_GT(std::filesystem::file_size(state), 0u);
  sdk_->no_content("PATCH", "/vm", {{"state", "Resumed"}});
  EXPECT_EQ(sdk_->ok("/", kInstanceInfo).value("state", ""), "Running");
  // The guest runs on: a tick it had not printed before the pause.
  const size_t ticks = [&] {
    size_t n = 0;
    for (size_t at = 0; (at = vmm_->out().find("tick ", at)) != std::string::npos; ++at) ++n;
    return n;
  }();
  EXPECT_TRUE(vmm_->wait_for_output("tick " + std::to_string(ticks + 1) + "\n", 30s)) << vmm_->out();

  // UpdateGuestDrive(ctx, "root_drive", path): PartialDrive{DriveID, PathOnHost}.
  const std::string other = dir_.write("other.img", std::string(1 << 20, 'x'));
  sdk_->no_content("PATCH", "/drives/root_drive", {{"drive_id", "root_drive"}, {"path_on_host", other}});

  stop_vmm(*vmm_);
  sdk_.reset();

  // The loading Machine: a new socket, a new VMID, no logger, metrics or vsock in its Config.
  const std::string load_sock = sock_ + ".load";
  const std::string load_id = "b8d2f6a3-4c5e-4f70-9bac-1d2e3f4a5b6c";
  // LoadSnapshotConfigValidationHandler: the drives, the memory file and the state exist.
  ASSERT_TRUE(std::filesystem::exists(root_));
  // The vsock's socket file of the first VMM is in the way of the restored device (Firecracker
  // binds uds_path anew and fails where the file exists); clients remove it, as here.
  std::filesystem::remove(vsock_);
  BackgroundProcess restored({fc_, "--api-sock", load_sock, "--id", load_id, "--no-seccomp"});
  GoSdkClient loader(load_sock);
  ASSERT_TRUE(loader.wait_for_socket(30s)) << restored.err();
  loader.no_content("PUT", "/snapshot/load", {{"mem_file_path", mem}, {"resume_vm", true}, {"snapshot_path", state}});
  EXPECT_TRUE(restored.wait_for_output("tick ", 30s)) << restored.out() << restored.err();
  const json info = loader.ok("/", kInstanceInfo);
  EXPECT_EQ(info.value("state", ""), "Running");
  EXPECT_EQ(info.value("id", ""), load_id);
  stop_vmm(restored);
}

}  // namespace
}  // namespace ember::test
