#include "agent/protocol.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "agent/frame_io.h"
#include "base/byte_codec.h"
#include "base/unique_fd.h"

namespace ember::agent {
namespace {

std::vector<uint8_t> frame_bytes(FrameType type, const std::vector<uint8_t>& payload) {
  auto bytes = encode_frame(type, payload);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>();
}

std::vector<uint8_t> header(uint16_t magic, uint16_t type, uint32_t flags, uint32_t length) {
  std::vector<uint8_t> h;
  auto put = [&h](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) h.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put(magic, 2);
  put(type, 2);
  put(flags, 4);
  put(length, 4);
  return h;
}

TEST(AgentProtocol, HeaderLayoutIsLittleEndian) {
  auto bytes = frame_bytes(FrameType::kStdout, {'h', 'i'});
  ASSERT_EQ(bytes.size(), kHeaderSize + 2);
  EXPECT_EQ(bytes[0], 'E');
  EXPECT_EQ(bytes[1], 'M');
  EXPECT_EQ(bytes[2], 0x82);
  EXPECT_EQ(bytes[3], 0x00);
  EXPECT_EQ(bytes[8], 2);
  EXPECT_EQ(bytes[9], 0);
  EXPECT_EQ(bytes[12], 'h');
}

TEST(AgentProtocol, FramesRoundTripWholeAndByteByByte) {
  std::vector<uint8_t> stream;
  const std::vector<std::vector<uint8_t>> payloads = {{}, {1, 2, 3}, std::vector<uint8_t>(70000, 0xab)};
  for (const auto& p : payloads) {
    auto f = frame_bytes(FrameType::kData, p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  // All at once.
  {
    FrameReader reader;
    reader.feed(stream);
    for (const auto& p : payloads) {
      auto frame = reader.next();
      ASSERT_TRUE(frame.ok()) << frame.error().message;
      ASSERT_TRUE(frame->has_value());
      EXPECT_TRUE((*frame)->is(FrameType::kData));
      EXPECT_EQ((*frame)->payload, p);
    }
    auto none = reader.next();
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    EXPECT_EQ(reader.buffered(), 0u);
  }
  // One byte at a time: nothing comes out before a frame is complete.
  {
    FrameReader reader;
    std::vector<std::vector<uint8_t>> got;
    for (uint8_t b : stream) {
      reader.feed(std::span<const uint8_t>(&b, 1));
      for (;;) {
        auto frame = reader.next();
        ASSERT_TRUE(frame.ok()) << frame.error().message;
        if (!frame->has_value()) break;
        got.push_back((*frame)->payload);
      }
    }
    EXPECT_EQ(got, payloads);
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(AgentProtocol, OversizeFramesAreRefusedFromTheHeaderAlone) {
  FrameReader reader;
  reader.feed(header(kMagic, 0x87, 0, kMaxPayload + 1));  // no payload bytes at all
  auto frame = reader.next();
  ASSERT_FALSE(frame.ok());
  EXPECT_NE(frame.error().message.find("over the limit"), std::string::npos) << frame.error().message;

  FrameReader exact;
  exact.feed(header(kMagic, 0x87, 0, kMaxPayload));
  auto waiting = exact.next();
  ASSERT_TRUE(waiting.ok());  // the maximum itself is allowed: waits for its payload
  EXPECT_FALSE(waiting->has_value());

  std::vector<uint8_t> big(kMaxPayload + 1);
  EXPECT_FALSE(encode_frame(FrameType::kData, big).ok());
  big.resize(kMaxPayload);
  EXPECT_TRUE(encode_frame(FrameType::kData, big).ok());
}

TEST(AgentProtocol, BadMagicAndUnknownFlagsAreRefused) {
  FrameReader a;
  a.feed(header(0x1234, 0x01, 0, 0));
  EXPECT_FALSE(a.next().ok());
  FrameReader b;
  b.feed(header(kMagic, 0x01, 4, 0));
  auto r = b.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("flags"), std::string::npos);
}

TEST(AgentProtocol, UnknownTypesAreFramedAndNamed) {
  FrameReader reader;
  reader.feed(header(kMagic, 0x7777, 0, 0));
  auto frame = reader.next();
  ASSERT_TRUE(frame.ok());
  ASSERT_TRUE(frame->has_value());
  EXPECT_EQ(frame_type_name((*frame)->type), "0x7777");
  EXPECT_EQ(frame_type_name(0x02), "EXEC");
}

TEST(AgentProtocol, ExecRoundTrip) {
  ExecRequest req{{"sh", "-c", "echo hi"}, {"A=1", "B="}, "/tmp"};
  auto back = decode_exec(encode_exec(req));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->argv, req.argv);
  EXPECT_EQ(back->env, req.env);
  EXPECT_EQ(back->cwd, "/tmp");
}

TEST(AgentProtocol, EveryTruncationOfAPayloadIsRefused) {
  const auto exec = encode_exec({{"ls", "-l"}, {"X=y"}, "/"});
  for (size_t n = 0; n < exec.size(); ++n)
    EXPECT_FALSE(decode_exec(std::span<const uint8_t>(exec.data(), n)).ok()) << n;
  const auto copy_in = encode_copy_in({"/a/b", 0644});
  for (size_t n = 0; n < copy_in.size(); ++n)
    EXPECT_FALSE(decode_copy_in(std::span<const uint8_t>(copy_in.data(), n)).ok()) << n;
  const auto exit = encode_exit({true, 9});
  for (size_t n = 0; n < exit.size(); ++n) EXPECT_FALSE(decode_exit(std::span<const uint8_t>(exit.data(), n)).ok());
  const auto err = encode_error({2, "nope"});
  for (size_t n = 0; n < err.size(); ++n) EXPECT_FALSE(decode_error(std::span<const uint8_t>(err.data(), n)).ok());
}

TEST(AgentProtocol, TrailingBytesAreRefused) {
  auto exec = encode_exec({{"ls"}, {}, ""});
  exec.push_back(0);
  auto r = decode_exec(exec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unexpected bytes"), std::string::npos);
  auto end = encode_copy_out_end({0644, 5});
  end.push_back(1);
  EXPECT_FALSE(decode_copy_out_end(end).ok());
  Frame ping{static_cast<uint16_t>(FrameType::kPing), {1}};
  EXPECT_FALSE(decode_empty(ping).ok());
}

TEST(AgentProtocol, CountsLargerThanThePayloadAreRefusedWithoutAllocating) {
  ByteWriter w;
  w.u32(0xffffffffu);  // argv count
  auto r = decode_exec(w.take());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("argv count"), std::string::npos) << r.error().message;

  ByteWriter s;
  s.u32(1);
  s.u32(0xfffffff0u);  // argv[0] claims 4 GiB
  auto r2 = decode_exec(s.take());
  ASSERT_FALSE(r2.ok());
}

TEST(AgentProtocol, SemanticChecks) {
  EXPECT_FALSE(decode_exec(encode_exec({{}, {}, ""})).ok());                       // no command
  EXPECT_FALSE(decode_exec(encode_exec({{std::string("a\0b", 3)}, {}, ""})).ok());  // NUL inside
  EXPECT_FALSE(decode_exec(encode_exec({{"ls"}, {"NOEQUALS"}, ""})).ok());
  EXPECT_FALSE(decode_exec(encode_exec({{"ls"}, {"=x"}, ""})).ok());
  EXPECT_FALSE(decode_exec(encode_exec({{"ls"}, {}, "relative"})).ok());
  EXPECT_FALSE(decode_copy_in(encode_copy_in({"relative", 0644})).ok());
  EXPECT_FALSE(decode_copy_in(encode_copy_in({"/x", 010000})).ok());
  EXPECT_FALSE(decode_copy_out(encode_copy_out({""})).ok());
  EXPECT_FALSE(decode_exit(encode_exit({false, 256})).ok());
  EXPECT_FALSE(decode_exit(encode_exit({true, 0})).ok());
  EXPECT_FALSE(decode_signal(encode_signal({65})).ok());
  EXPECT_FALSE(decode_set_clock(encode_set_clock({-1})).ok());
}

TEST(AgentProtocol, SmallMessagesRoundTrip) {
  auto exit = decode_exit(encode_exit({true, 15}));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->code, 15);
  auto err = decode_error(encode_error({2, "command not found: x"}));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->error_number, 2);
  EXPECT_EQ(err->message, "command not found: x");
  auto ready = decode_ready(encode_ready({kProtocolVersion, "1.2.3"}));
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->agent_version, "1.2.3");
  auto clock = decode_set_clock(encode_set_clock({1'700'000'000'123'456'789}));
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(clock->realtime_ns, 1'700'000'000'123'456'789);
  auto end = decode_copy_out_end(encode_copy_out_end({0755, 1ull << 40}));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->mode, 0755u);
  EXPECT_EQ(end->size, 1ull << 40);
  auto copy_in = decode_copy_in(encode_copy_in({"/tmp/x", 0600}));
  ASSERT_TRUE(copy_in.ok());
  EXPECT_EQ(copy_in->path, "/tmp/x");
}

TEST(AgentProtocol, GarbagePayloadsNeverCrash) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(rng() % 64);
    for (auto& b : junk) b = static_cast<uint8_t>(rng() % 4 == 0 ? 0xff : rng());
    (void)decode_exec(junk);
    (void)decode_copy_in(junk);
    (void)decode_copy_out(junk);
    (void)decode_error(junk);
    (void)decode_ready(junk);
    (void)decode_exit(junk);
    FrameReader reader;
    reader.feed(junk);
    (void)reader.next();
  }
}

// ---- frame_io over a real socket -------------------------------------------------------------

class SocketPair {
 public:
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

TEST(AgentFrameIo, ReadFrameAcrossPartialWrites) {
  SocketPair sp;
  auto bytes = frame_bytes(FrameType::kStderr, {'x', 'y', 'z'});
  std::thread writer([&] {
    for (uint8_t byte : bytes) {
      ASSERT_EQ(::write(sp.a.get(), &byte, 1), 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    sp.a.reset();
  });
  FrameReader reader;
  auto frame = read_frame(sp.b.get(), reader, Deadline::after(std::chrono::seconds(10)));
  writer.join();
  ASSERT_TRUE(frame.ok()) << frame.error().message;
  ASSERT_TRUE(frame->has_value());
  EXPECT_EQ((*frame)->payload, (std::vector<uint8_t>{'x', 'y', 'z'}));
  auto eof = read_frame(sp.b.get(), reader, Deadline::after(std::chrono::seconds(10)));
  ASSERT_TRUE(eof.ok());
  EXPECT_FALSE(eof->has_value());  // clean end between frames
}

TEST(AgentFrameIo, EndInsideAFrameAndDeadlinesAreErrors) {
  {
    SocketPair sp;
    auto bytes = frame_bytes(FrameType::kData, {1, 2, 3, 4});
    ASSERT_EQ(::write(sp.a.get(), bytes.data(), bytes.size() - 1), static_cast<ssize_t>(bytes.size() - 1));
    sp.a.reset();
    FrameReader reader;
    auto r = read_frame(sp.b.get(), reader, Deadline::after(std::chrono::seconds(10)));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("inside a frame"), std::string::npos);
  }
  {
    SocketPair sp;
    FrameReader reader;
    auto r = read_frame(sp.b.get(), reader, Deadline::after(std::chrono::milliseconds(50)));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
  }
  {
    SocketPair sp;
    int wake[2];
    ASSERT_EQ(::pipe(wake), 0);
    ASSERT_EQ(::write(wake[1], "x", 1), 1);
    FrameReader reader;
    auto r = read_frame(sp.b.get(), reader, Deadline::never(), wake[0]);
    ::close(wake[0]);
    ::close(wake[1]);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("interrupted"), std::string::npos);
  }
}

TEST(AgentFrameIo, OutQueueFlushesThroughAFullSocket) {
  ::signal(SIGPIPE, SIG_IGN);
  SocketPair sp;
  ASSERT_TRUE(set_nonblocking(sp.a.get()).ok());
  OutQueue out;
  const std::vector<uint8_t> chunk(kDataChunk, 0x5a);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(out.push_frame(FrameType::kData, chunk).ok());
  size_t total = 0;
  std::thread reader([&] {
    uint8_t buf[4096];
    ssize_t n;
    while ((n = ::read(sp.b.get(), buf, sizeof buf)) > 0) total += static_cast<size_t>(n);
  });
  while (!out.empty()) {
    ASSERT_TRUE(out.flush(sp.a.get()).ok());
    if (!out.empty()) {
      ASSERT_TRUE(wait_fd(sp.a.get(), POLLOUT, Deadline::after(std::chrono::seconds(10))).ok());
    }
  }
  sp.a.reset();
  reader.join();
  EXPECT_EQ(total, 40 * (kHeaderSize + kDataChunk));
}

}  // namespace
}  // namespace ember::agent
