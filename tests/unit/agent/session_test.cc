// The agent's request handler, run on the host over a socketpair: the same code that serves a
// vsock connection in the guest.
#include "agent/session.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "agent/command.h"
#include "agent/frame_io.h"
#include "agent/protocol.h"
#include "base/unique_fd.h"

namespace ember::agent {
namespace {

constexpr auto kWait = std::chrono::seconds(20);

// A session on one end of a socketpair, in a thread; the test is the host on the other end.
class AgentSession {
 public:
  AgentSession() {
    ::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    host_.reset(fds[0]);
    agent_.reset(fds[1]);
    options_.agent_version = "test-1";
    options_.base_env = default_base_environment();
    options_.set_clock = [this](int64_t ns) -> Result<void> {
      clock_ns_ = ns;
      return {};
    };
    thread_ = std::thread([this] { result_ = serve_connection(agent_.get(), options_); });
  }
  ~AgentSession() { (void)finish(); }

  void send(FrameType type, const std::vector<uint8_t>& payload = {}) {
    auto r = send_frame(host_.get(), type, payload, Deadline::after(kWait));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void send_raw(const std::vector<uint8_t>& bytes) {
    ASSERT_TRUE(write_all(host_.get(), bytes, Deadline::after(kWait)).ok());
  }
  // The next frame; an empty optional at EOF.
  std::optional<Frame> receive() {
    auto r = read_frame(host_.get(), reader_, Deadline::after(kWait));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : std::nullopt;
  }
  // Closes the host end and waits for the session to end; its result.
  Result<void> finish() {
    host_.reset();
    if (thread_.joinable()) thread_.join();
    return result_;
  }

  struct ExecOutcome {
    std::string out, err;
    std::optional<ExitReport> exit;
    std::optional<ErrorReport> error;
  };
  ExecOutcome exec(const ExecRequest& req, const std::string& stdin_data = {}) {
    send(FrameType::kExec, encode_exec(req));
    if (!stdin_data.empty()) send(FrameType::kStdin, std::vector<uint8_t>(stdin_data.begin(), stdin_data.end()));
    send(FrameType::kStdinEof);
    ExecOutcome o;
    for (;;) {
      auto f = receive();
      if (!f) break;
      if (f->is(FrameType::kStdout)) {
        o.out.append(f->payload.begin(), f->payload.end());
      } else if (f->is(FrameType::kStderr)) {
        o.err.append(f->payload.begin(), f->payload.end());
      } else if (f->is(FrameType::kExit)) {
        auto e = decode_exit(f->payload);
        EXPECT_TRUE(e.ok());
        if (e.ok()) o.exit = e.value();
        break;
      } else if (f->is(FrameType::kError)) {
        auto e = decode_error(f->payload);
        EXPECT_TRUE(e.ok());
        if (e.ok()) o.error = e.value();
        break;
      } else {
        ADD_FAILURE() << "unexpected " << frame_type_name(f->type);
        break;
      }
    }
    return o;
  }

  int64_t clock_ns() const { return clock_ns_; }

 private:
  UniqueFd host_, agent_;
  SessionOptions options_;
  FrameReader reader_;
  std::thread thread_;
  Result<void> result_;
  int64_t clock_ns_ = 0;
};

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "ember-agent-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(t.data()), nullptr);
    path_ = t;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AgentSession, PingAnswersReadyWithTheVersion) {
  AgentSession s;
  s.send(FrameType::kPing);
  auto f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kReady));
  auto ready = decode_ready(f->payload);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->agent_version, "test-1");
  EXPECT_EQ(ready->protocol_version, kProtocolVersion);
  EXPECT_TRUE(s.finish().ok());
}

TEST(AgentSession, ExecStreamsBothOutputsAndTheExitStatus) {
  AgentSession s;
  auto o = s.exec({{"sh", "-c", "echo out; echo err >&2; exit 7"}, {}, ""});
  ASSERT_TRUE(o.exit) << (o.error ? o.error->message : "");
  EXPECT_FALSE(o.exit->signaled);
  EXPECT_EQ(o.exit->code, 7);
  EXPECT_EQ(o.out, "out\n");
  EXPECT_EQ(o.err, "err\n");
  // The connection serves further requests after a command.
  auto again = s.exec({{"true"}, {}, ""});
  ASSERT_TRUE(again.exit);
  EXPECT_EQ(again.exit->code, 0);
  EXPECT_TRUE(s.finish().ok());
}

TEST(AgentSession, ExecPassesStdinEnvironmentAndWorkingDirectory) {
  AgentSession s;
  TempDir dir;
  auto o = s.exec({{"sh", "-c", "cat; echo \"$FOO $HOME\"; pwd"}, {"FOO=bar"}, dir.path()}, "from stdin\n");
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->code, 0);
  EXPECT_EQ(o.out, "from stdin\nbar /root\n" + std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(AgentSession, CommandNotFoundIsAnErrorWithEnoent) {
  AgentSession s;
  auto o = s.exec({{"ember-no-such-command"}, {}, ""});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->error_number, ENOENT);
  EXPECT_NE(o.error->message.find("command not found"), std::string::npos) << o.error->message;
  auto o2 = s.exec({{"/no/such/program"}, {}, ""});
  ASSERT_TRUE(o2.error);
  EXPECT_EQ(o2.error->error_number, ENOENT);
  auto o3 = s.exec({{"true"}, {}, "/no/such/dir"});
  ASSERT_TRUE(o3.error);
  EXPECT_NE(o3.error->message.find("working directory"), std::string::npos);
  // The stdin frames sent after a failed EXEC are ignored; the session goes on.
  s.send(FrameType::kPing);
  auto f = s.receive();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is(FrameType::kReady));
}

TEST(AgentSession, DeathBySignalIsReported) {
  AgentSession s;
  auto o = s.exec({{"sh", "-c", "kill -TERM $$"}, {}, ""});
  ASSERT_TRUE(o.exit);
  EXPECT_TRUE(o.exit->signaled);
  EXPECT_EQ(o.exit->code, SIGTERM);
}

TEST(AgentSession, SignalFrameReachesTheCommand) {
  AgentSession s;
  s.send(FrameType::kExec, encode_exec({{"sh", "-c", "echo started; exec sleep 100"}, {}, ""}));
  auto f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kStdout));
  s.send(FrameType::kSignal, encode_signal({SIGKILL}));
  for (;;) {
    f = s.receive();
    ASSERT_TRUE(f);
    if (f->is(FrameType::kExit)) break;
  }
  auto exit = decode_exit(f->payload);
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->code, SIGKILL);
}

TEST(AgentSession, LargeOutputArrivesWhole) {
  AgentSession s;
  auto o = s.exec({{"sh", "-c", "head -c 3000000 /dev/zero; head -c 500000 /dev/zero >&2"}, {}, ""});
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->code, 0);
  EXPECT_EQ(o.out.size(), 3000000u);
  EXPECT_EQ(o.err.size(), 500000u);
}

TEST(AgentSession, LargeStdinArrivesWhole) {
  AgentSession s;
  std::string input(3 << 20, 'q');
  s.send(FrameType::kExec, encode_exec({{"wc", "-c"}, {}, ""}));
  for (size_t off = 0; off < input.size(); off += kDataChunk)
    s.send(FrameType::kStdin, std::vector<uint8_t>(input.begin() + static_cast<long>(off),
                                                   input.begin() + static_cast<long>(std::min(input.size(), off + kDataChunk))));
  s.send(FrameType::kStdinEof);
  std::string out;
  for (;;) {
    auto f = s.receive();
    ASSERT_TRUE(f);
    if (f->is(FrameType::kStdout)) out.append(f->payload.begin(), f->payload.end());
    if (f->is(FrameType::kExit)) break;
  }
  EXPECT_EQ(std::stoul(out), input.size());
}

TEST(AgentSession, CopyInThenCopyOutRoundTripsBytesAndMode) {
  AgentSession s;
  TempDir dir;
  const std::string path = dir.path() + "/sub/dir/file.bin";  // parents are created
  std::vector<uint8_t> data(200'000);
  std::mt19937 rng(7);
  for (auto& b : data) b = static_cast<uint8_t>(rng());

  s.send(FrameType::kCopyIn, encode_copy_in({path, 0640}));
  for (size_t off = 0; off < data.size(); off += kDataChunk)
    s.send(FrameType::kCopyData, std::vector<uint8_t>(data.begin() + static_cast<long>(off),
                                                      data.begin() + static_cast<long>(std::min(data.size(), off + kDataChunk))));
  s.send(FrameType::kCopyEnd);
  auto ok = s.receive();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->is(FrameType::kOk)) << frame_type_name(ok->type);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(static_cast<size_t>(st.st_size), data.size());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path() + "/sub/dir"), {}), 1)
      << "no temporary file left behind";

  s.send(FrameType::kCopyOut, encode_copy_out({path}));
  std::vector<uint8_t> back;
  for (;;) {
    auto f = s.receive();
    ASSERT_TRUE(f);
    if (f->is(FrameType::kData)) {
      back.insert(back.end(), f->payload.begin(), f->payload.end());
      continue;
    }
    ASSERT_TRUE(f->is(FrameType::kEnd)) << frame_type_name(f->type);
    auto end = decode_copy_out_end(f->payload);
    ASSERT_TRUE(end.ok());
    EXPECT_EQ(end->mode, 0640u);
    EXPECT_EQ(end->size, data.size());
    break;
  }
  EXPECT_EQ(back, data);
}

TEST(AgentSession, CopyErrorsAreReportedAndTheSessionGoesOn) {
  AgentSession s;
  TempDir dir;
  s.send(FrameType::kCopyOut, encode_copy_out({dir.path() + "/missing"}));
  auto f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kError));
  auto err = decode_error(f->payload);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->error_number, ENOENT);

  s.send(FrameType::kCopyOut, encode_copy_out({dir.path()}));
  f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kError));
  EXPECT_NE(decode_error(f->payload)->message.find("not a regular file"), std::string::npos);

  // Into a path whose parent is a file: the data is consumed, then one ERROR.
  const std::string file = dir.path() + "/plain";
  std::ofstream(file) << "x";
  s.send(FrameType::kCopyIn, encode_copy_in({file + "/below", 0644}));
  s.send(FrameType::kCopyData, {1, 2, 3});
  s.send(FrameType::kCopyEnd);
  f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kError));

  s.send(FrameType::kPing);
  f = s.receive();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is(FrameType::kReady));
  EXPECT_TRUE(s.finish().ok());
}

TEST(AgentSession, SetClockUsesTheClockSetter) {
  AgentSession s;
  s.send(FrameType::kSetClock, encode_set_clock({1'234'567'890'123'456'789}));
  auto f = s.receive();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is(FrameType::kOk));
  EXPECT_EQ(s.clock_ns(), 1'234'567'890'123'456'789);
}

void expect_protocol_error_then_close(AgentSession& s) {
  auto f = s.receive();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is(FrameType::kError));
  auto err = decode_error(f->payload);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->error_number, EPROTO);
  auto eof = s.receive();
  EXPECT_FALSE(eof) << "the agent hangs up after a protocol error";
  EXPECT_FALSE(s.finish().ok());
}

TEST(AgentSession, OversizeFrameIsRefusedAndTheConnectionClosed) {
  AgentSession s;
  std::vector<uint8_t> h = {'E', 'M', 0x03, 0, 0, 0, 0, 0};
  const uint32_t len = kMaxPayload + 1;
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<uint8_t>(len >> (8 * i)));
  s.send_raw(h);
  expect_protocol_error_then_close(s);
}

TEST(AgentSession, GarbageIsRefusedAndTheConnectionClosed) {
  AgentSession s;
  s.send_raw({'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'});
  expect_protocol_error_then_close(s);
}

TEST(AgentSession, TruncatedPayloadIsRefused) {
  AgentSession s;
  auto payload = encode_exec({{"ls"}, {}, ""});
  payload.pop_back();
  s.send(FrameType::kExec, payload);
  expect_protocol_error_then_close(s);
}

TEST(AgentSession, RequestOutOfTurnIsRefused) {
  AgentSession s;
  s.send(FrameType::kCopyData, {1});
  expect_protocol_error_then_close(s);
}

TEST(AgentSession, HostHangingUpKillsTheCommand) {
  AgentSession s;
  s.send(FrameType::kExec, encode_exec({{"sh", "-c", "echo $$; exec sleep 100"}, {}, ""}));
  auto f = s.receive();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->is(FrameType::kStdout));
  const pid_t pid = std::stoi(std::string(f->payload.begin(), f->payload.end()));
  EXPECT_TRUE(s.finish().ok());
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1) << "the command outlived the connection";
  EXPECT_EQ(errno, ESRCH);
}

TEST(AgentSession, ConnectionsAreIndependent) {
  AgentSession a, b;
  a.send(FrameType::kExec, encode_exec({{"sh", "-c", "read x; echo a$x"}, {}, ""}));
  auto ob = b.exec({{"echo", "b"}, {}, ""});  // runs while a's command waits for input
  ASSERT_TRUE(ob.exit);
  EXPECT_EQ(ob.out, "b\n");
  a.send(FrameType::kStdin, {'1', '\n'});
  a.send(FrameType::kStdinEof);
  std::string out;
  for (;;) {
    auto f = a.receive();
    ASSERT_TRUE(f);
    if (f->is(FrameType::kStdout)) out.append(f->payload.begin(), f->payload.end());
    if (f->is(FrameType::kExit)) break;
  }
  EXPECT_EQ(out, "a1\n");
}

TEST(AgentCommand, EnvironmentMergeAndPathSearch) {
  EXPECT_EQ(merge_environment({"PATH=/bin", "HOME=/root"}, {"HOME=/tmp", "X=1"}),
            (std::vector<std::string>{"PATH=/bin", "HOME=/tmp", "X=1"}));
  int err = 0;
  EXPECT_EQ(find_program("sh", "/nonexistent:/bin", &err), "/bin/sh");
  EXPECT_EQ(err, 0);
  EXPECT_EQ(find_program("ember-no-such", "/bin:/usr/bin", &err), "");
  EXPECT_EQ(err, ENOENT);
  EXPECT_EQ(find_program("./x", "", &err), "./x");
  EXPECT_EQ(err, 0);
}

}  // namespace
}  // namespace ember::agent
