// The wire protocol between emberctl (host) and ember-agent (guest), over one vsock stream.
// agent/README.md describes it for people; this header is the reference for code.
//
// A stream carries frames, each a 12-byte header and a payload:
//
//   offset 0  u16  magic   kMagic (the bytes 'E' 'M')
//   offset 2  u16  type    FrameType
//   offset 4  u32  flags   none defined yet: must be 0
//   offset 8  u32  length  payload bytes that follow, at most kMaxPayload
//
// All integers little-endian. Payload fields are written and read with base/byte_codec.h (the
// codec of snapshot state files too): fixed-size integers, strings as a u32 byte count and the
// bytes, lists as a u32 item count and the items. Both ends treat what they receive as
// untrusted: every count is checked against the bytes left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ember::agent {

// The AF_VSOCK port ember-agent listens on (the host connects through ember's hybrid vsock:
// "CONNECT 52\n" on the vsock's uds_path).
inline constexpr uint32_t kAgentVsockPort = 52;
inline constexpr uint16_t kMagic = 0x4d45;  // "EM" on the wire
inline constexpr size_t kHeaderSize = 12;
// A frame larger than this is refused (ERROR frame, then the connection is closed).
inline constexpr uint32_t kMaxPayload = 1u << 20;
// Bulk data (stdout, stderr, stdin, file contents) travels in chunks of at most this size.
inline constexpr size_t kDataChunk = 64 * 1024;
// Bumped when a frame's meaning changes; READY carries it.
inline constexpr uint32_t kProtocolVersion = 1;

enum class FrameType : uint16_t {
  // host -> agent
  kPing = 0x01,      // empty; answered by READY
  kExec = 0x02,      // ExecRequest; then STDOUT/STDERR..., EXIT (or ERROR if it cannot start)
  kStdin = 0x03,     // bytes for the running command's stdin
  kStdinEof = 0x04,  // empty; closes the command's stdin
  kSignal = 0x05,    // SignalRequest: sent to the running command's process group
  kCopyIn = 0x06,    // CopyInRequest; then COPY_DATA..., COPY_END; answered by OK or ERROR
  kCopyData = 0x07,  // bytes of the file being copied in
  kCopyEnd = 0x08,   // empty
  kCopyOut = 0x09,   // CopyOutRequest; answered by DATA..., END, or ERROR
  kSetClock = 0x0a,  // SetClockRequest; answered by OK or ERROR
  // agent -> host
  kReady = 0x81,   // ReadyReport
  kStdout = 0x82,  // bytes the command wrote to stdout
  kStderr = 0x83,  // bytes the command wrote to stderr
  kExit = 0x84,    // ExitReport: the command ended
  kOk = 0x85,      // empty
  kError = 0x86,   // ErrorReport
  kData = 0x87,    // bytes of the file being copied out
  kEnd = 0x88,     // CopyOutEnd
};

// "EXEC", "STDOUT", ... or "0x1234" for a type this build does not know.
[[nodiscard]] std::string frame_type_name(uint16_t type);

struct Frame {
  uint16_t type = 0;  // a FrameType value, or an unknown one: the receiver decides
  std::vector<uint8_t> payload;

  [[nodiscard]] bool is(FrameType t) const { return type == static_cast<uint16_t>(t); }
};

// The encoded header and payload of one frame; refuses a payload over kMaxPayload.
[[nodiscard]] Result<std::vector<uint8_t>> encode_frame(FrameType type, std::span<const uint8_t> payload);

// Cuts a byte stream into frames. Bytes arrive in any pieces (one at a time, or several frames
// at once); the header is checked as soon as it is complete, before its payload is buffered.
// After an error the stream is out of step and must be abandoned.
class FrameReader {
 public:
  explicit FrameReader(uint32_t max_payload = kMaxPayload) : max_payload_(max_payload) {}

  void feed(std::span<const uint8_t> bytes);
  // The next whole frame; nullopt when more bytes are needed; an error for a bad header (wrong
  // magic, unknown flags, a payload over the limit).
  [[nodiscard]] Result<std::optional<Frame>> next();
  // Bytes received and not yet returned as frames: a stream that ends with some is truncated.
  [[nodiscard]] size_t buffered() const { return buffer_.size() - start_; }

 private:
  uint32_t max_payload_;
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
};

// ---- Messages --------------------------------------------------------------------------------

// Limits the agent enforces on what it is asked to run (far above real command lines).
inline constexpr uint32_t kMaxArgs = 65536;
inline constexpr uint32_t kMaxEnv = 65536;
inline constexpr uint32_t kMaxPath = 4096;

struct ExecRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;   // "NAME=value", added to (or replacing in) the agent's base environment
  std::string cwd;                // absolute; empty means "/"
};
// Payload: strings argv, strings env, string cwd.
[[nodiscard]] std::vector<uint8_t> encode_exec(const ExecRequest& r);
[[nodiscard]] Result<ExecRequest> decode_exec(std::span<const uint8_t> payload);

struct ExitReport {
  bool signaled = false;  // false: `code` is the exit status; true: the signal number that ended it
  int32_t code = 0;
};
// Payload: u32 kind (0 exited, 1 signaled), i32 code.
[[nodiscard]] std::vector<uint8_t> encode_exit(const ExitReport& r);
[[nodiscard]] Result<ExitReport> decode_exit(std::span<const uint8_t> payload);

struct ErrorReport {
  int32_t error_number = 0;  // the errno behind it (ENOENT for a command not found), 0 for none
  std::string message;
};
// Payload: i32 errno, string message.
[[nodiscard]] std::vector<uint8_t> encode_error(const ErrorReport& r);
[[nodiscard]] Result<ErrorReport> decode_error(std::span<const uint8_t> payload);

struct CopyInRequest {
  std::string path;   // absolute guest path; missing parent directories are created
  uint32_t mode = 0;  // permission bits (07777 at most)
};
// Payload: string path, u32 mode.
[[nodiscard]] std::vector<uint8_t> encode_copy_in(const CopyInRequest& r);
[[nodiscard]] Result<CopyInRequest> decode_copy_in(std::span<const uint8_t> payload);

struct CopyOutRequest {
  std::string path;  // absolute guest path of a regular file
};
// Payload: string path.
[[nodiscard]] std::vector<uint8_t> encode_copy_out(const CopyOutRequest& r);
[[nodiscard]] Result<CopyOutRequest> decode_copy_out(std::span<const uint8_t> payload);

struct CopyOutEnd {
  uint32_t mode = 0;  // the file's permission bits
  uint64_t size = 0;  // bytes sent in DATA frames
};
// Payload: u32 mode, u64 size.
[[nodiscard]] std::vector<uint8_t> encode_copy_out_end(const CopyOutEnd& r);
[[nodiscard]] Result<CopyOutEnd> decode_copy_out_end(std::span<const uint8_t> payload);

struct ReadyReport {
  uint32_t protocol_version = kProtocolVersion;
  std::string agent_version;
};
// Payload: u32 protocol version, string agent version.
[[nodiscard]] std::vector<uint8_t> encode_ready(const ReadyReport& r);
[[nodiscard]] Result<ReadyReport> decode_ready(std::span<const uint8_t> payload);

struct SetClockRequest {
  int64_t realtime_ns = 0;  // CLOCK_REALTIME, nanoseconds since the epoch
};
// Payload: u64 nanoseconds (two's complement).
[[nodiscard]] std::vector<uint8_t> encode_set_clock(const SetClockRequest& r);
[[nodiscard]] Result<SetClockRequest> decode_set_clock(std::span<const uint8_t> payload);

struct SignalRequest {
  int32_t signal = 0;  // 1 to 64
};
// Payload: i32 signal.
[[nodiscard]] std::vector<uint8_t> encode_signal(const SignalRequest& r);
[[nodiscard]] Result<SignalRequest> decode_signal(std::span<const uint8_t> payload);

// The empty payload of PING, STDIN_EOF, COPY_END and OK: anything in it is refused.
[[nodiscard]] Result<void> decode_empty(const Frame& frame);

}  // namespace ember::agent
