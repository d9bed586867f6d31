// The metrics sink: files and FIFOs, never waiting on either; a full FIFO drops whole lines
// and counts them; a reader only ever sees whole lines.
#include "vmm/metrics/metrics_sink.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"

namespace ember {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ember-metrics-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Everything the FIFO holds now, through a non-blocking reader.
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Opens `path` inside `op`; if that has not returned after two seconds (a blocking open of a
// FIFO without a reader), a reader is opened to release it and the test fails.
template <class Op>
void without_blocking(const std::string& fifo, Op op) {
  std::atomic<bool> done{false};
  std::atomic<bool> rescued{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(10ms);
    if (done) return;
    rescued = true;
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    std::this_thread::sleep_for(100ms);
    if (fd >= 0) ::close(fd);
  });
  op();
  done = true;
  watchdog.join();
  EXPECT_FALSE(rescued) << "opening or writing the metrics FIFO blocked";
}

TEST(MetricsSink, WritesWholeLinesToAFile) {
  TempDir dir;
  const std::string path = dir.file("metrics.json");
  auto sink = MetricsSink::open(path);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  ASSERT_TRUE(sink->write_line(R"({"a":1})").ok());
  ASSERT_TRUE(sink->write_line(R"({"a":2})").ok());
  EXPECT_EQ(slurp(path), "{\"a\":1}\n{\"a\":2}\n");
  EXPECT_EQ(sink->counters().lines_written, 2u);
  EXPECT_EQ(sink->counters().lines_dropped, 0u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "a new metrics file is private to the user";
  const int flags = ::fcntl(sink->fd(), F_GETFL);
  EXPECT_NE(flags & O_NONBLOCK, 0);
  EXPECT_NE(flags & O_APPEND, 0);
  EXPECT_NE(::fcntl(sink->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(MetricsSink, AppendsToAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("m");
  std::ofstream(path) << "earlier\n";
  auto sink = MetricsSink::open(path);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(sink->write_line("later").ok());
  EXPECT_EQ(slurp(path), "earlier\nlater\n");
}

TEST(MetricsSink, UnopenablePathsSayWhy) {
  TempDir dir;
  auto missing = MetricsSink::open(dir.file("no/such/dir/m"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(dir.file("no/such/dir/m")), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos) << missing.error().message;

  auto directory = MetricsSink::open(dir.file(""));
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("Is a directory"), std::string::npos) << directory.error().message;

  // A Unix socket is not a FIFO: no read-write retry for it.
  const std::string sock_path = dir.file("s.sock");
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto socket = MetricsSink::open(sock_path);
  EXPECT_FALSE(socket.ok());
}

TEST(MetricsSink, AFifoWithoutReaderNeitherBlocksNorFails) {
  TempDir dir;
  const std::string fifo = dir.file("metrics.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::optional<MetricsSink> sink;
  without_blocking(fifo, [&] {
    auto opened = MetricsSink::open(fifo);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sink.emplace(std::move(opened).value());
    EXPECT_TRUE(sink->write_line(R"({"first":1})").ok());
  });
  ASSERT_TRUE(sink);
  // A reader that comes later finds the line waiting.
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_TRUE(reader.valid());
  EXPECT_EQ(drain(reader.get()), "{\"first\":1}\n");
}

// Fills a FIFO (16 KiB buffer, a reader that reads nothing) with lines of `length` bytes,
// then lets the reader drain it: lines that did not fit are dropped and counted, and the
// reader sees only whole lines, in order.
void fill_and_drain_fifo(size_t length) {
  TempDir dir;
  const std::string fifo = dir.file("metrics.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_TRUE(reader.valid());
  auto sink = MetricsSink::open(fifo);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  ASSERT_GE(::fcntl(sink->fd(), F_SETPIPE_SZ, 16384), 16384);

  std::vector<std::string> accepted;
  int dropped = 0;
  size_t most_pending = 0;
  without_blocking(fifo, [&] {
    for (int i = 0; i < 40; ++i) {
      std::string line = std::to_string(i) + ":" + std::string(length - 4, 'x');
      auto r = sink->write_line(line);
      most_pending = std::max(most_pending, sink->pending_bytes());
      if (r.ok()) {
        accepted.push_back(line);
      } else {
        ++dropped;
        EXPECT_NE(r.error().message.find("full"), std::string::npos) << r.error().message;
      }
    }
  });
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(sink->counters().lines_written, accepted.size());
  EXPECT_EQ(sink->counters().lines_dropped, static_cast<uint64_t>(dropped));
  EXPECT_EQ(sink->counters().write_failures, 0u);
  // Up to PIPE_BUF bytes a write is all or nothing; a longer line may be cut short.
  EXPECT_EQ(most_pending > 0, length > 4096) << "most bytes left of a line: " << most_pending;

  // A line cut short (one longer than PIPE_BUF can be) is completed before the next one.
  std::string got = drain(reader.get());
  ASSERT_TRUE(sink->write_line("after").ok());
  got += drain(reader.get());
  std::string expected;
  for (const auto& line : accepted) expected += line + "\n";
  expected += "after\n";
  EXPECT_EQ(got, expected);
  EXPECT_EQ(sink->pending_bytes(), 0u);
}

TEST(MetricsSink, AFullFifoDropsShortLinesAndCountsThem) { fill_and_drain_fifo(1000); }

TEST(MetricsSink, AFullFifoNeverSplitsALongLine) {
  // Longer than PIPE_BUF (4096): the kernel may take part of such a write.
  fill_and_drain_fifo(6000);
}

TEST(MetricsSink, AReaderThatWentAwayIsAWriteFailure) {
  TempDir dir;
  const std::string fifo = dir.file("metrics.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  auto sink = MetricsSink::open(fifo);
  ASSERT_TRUE(sink.ok());
  reader.reset();
  // ember ignores SIGPIPE; here it is blocked on this thread and taken back afterwards.
  sigset_t pipe_set;
  sigset_t old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe_set, &old), 0);
  auto r = sink->write_line("{}");
  const timespec no_wait{0, 0};
  (void)sigtimedwait(&pipe_set, nullptr, &no_wait);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Broken pipe"), std::string::npos) << r.error().message;
  EXPECT_EQ(sink->counters().write_failures, 1u);
}

}  // namespace
}  // namespace ember
