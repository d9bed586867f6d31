#include "agent/protocol.h"

#include <cstdio>

#include "base/byte_codec.h"

namespace ember::agent {

std::string frame_type_name(uint16_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kPing: return "PING";
    case FrameType::kExec: return "EXEC";
    case FrameType::kStdin: return "STDIN";
    case FrameType::kStdinEof: return "STDIN_EOF";
    case FrameType::kSignal: return "SIGNAL";
    case FrameType::kCopyIn: return "COPY_IN";
    case FrameType::kCopyData: return "COPY_DATA";
    case FrameType::kCopyEnd: return "COPY_END";
    case FrameType::kCopyOut: return "COPY_OUT";
    case FrameType::kSetClock: return "SET_CLOCK";
    case FrameType::kReady: return "READY";
    case FrameType::kStdout: return "STDOUT";
    case FrameType::kStderr: return "STDERR";
    case FrameType::kExit: return "EXIT";
    case FrameType::kOk: return "OK";
    case FrameType::kError: return "ERROR";
    case FrameType::kData: return "DATA";
    case FrameType::kEnd: return "END";
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", type);
  return buf;
}

Result<std::vector<uint8_t>> encode_frame(FrameType type, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxPayload)
    return make_error(frame_type_name(static_cast<uint16_t>(type)) + " frame: payload of " +
                      std::to_string(payload.size()) + " bytes is over the limit of " + std::to_string(kMaxPayload));
  ByteWriter header;
  header.u16(kMagic);
  header.u16(static_cast<uint16_t>(type));
  header.u32(0);  // flags
  header.u32(static_cast<uint32_t>(payload.size()));
  std::vector<uint8_t> out = header.take();
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void FrameReader::feed(std::span<const uint8_t> bytes) {
  // Drop what was consumed before growing, so the buffer stays about one frame long.
  if (start_ > 0 && (start_ == buffer_.size() || start_ >= buffer_.size() / 2)) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameReader::next() {
  const size_t avail = buffered();
  if (avail < kHeaderSize) return std::optional<Frame>();
  const uint8_t* h = buffer_.data() + start_;
  ByteReader header(std::span<const uint8_t>(h, kHeaderSize), "the frame header");
  ASSIGN_OR_RETURN(const uint16_t magic, header.u16("magic"));
  ASSIGN_OR_RETURN(const uint16_t type, header.u16("type"));
  ASSIGN_OR_RETURN(const uint32_t flags, header.u32("flags"));
  ASSIGN_OR_RETURN(const uint32_t length, header.u32("length"));
  if (magic != kMagic) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "frame header: magic 0x%04x, expected 0x%04x", magic, kMagic);
    return make_error(buf);
  }
  if (flags != 0)
    return make_error("frame header: " + frame_type_name(type) + " has unknown flags " + std::to_string(flags));
  if (length > max_payload_)
    return make_error("frame header: " + frame_type_name(type) + " payload of " + std::to_string(length) +
                      " bytes is over the limit of " + std::to_string(max_payload_));
  if (avail - kHeaderSize < length) return std::optional<Frame>();
  Frame frame;
  frame.type = type;
  const auto* payload = h + kHeaderSize;
  frame.payload.assign(payload, payload + length);
  start_ += kHeaderSize + length;
  return std::optional<Frame>(std::move(frame));
}

// ---- Messages --------------------------------------------------------------------------------

namespace {

// A list of strings: u32 count, then each string.
void put_strings(ByteWriter& w, const std::vector<std::string>& list) {
  w.u32(static_cast<uint32_t>(list.size()));
  for (const auto& s : list) w.str(s);
}

// A string that goes to a C API (a path, an argument): no NUL byte inside.
Result<std::string> read_c_str(ByteReader& r, const std::string& field, uint32_t max_len = kMaxPayload) {
  ASSIGN_OR_RETURN(std::string s, r.str(field, max_len));
  if (s.find('\0') != std::string::npos) return r.error(field, "contains a NUL byte");
  return s;
}

Result<std::vector<std::string>> read_c_strings(ByteReader& r, const std::string& field, uint32_t max_count) {
  // Each item takes at least its 4-byte length: a count the bytes left cannot hold is a lie,
  // caught before anything is reserved for it.
  ASSIGN_OR_RETURN(uint32_t count, r.count(field + " count", 4, max_count));
  std::vector<std::string> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string s, read_c_str(r, field + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

bool is_absolute_path(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

std::vector<uint8_t> encode_exec(const ExecRequest& r) {
  ByteWriter w;
  put_strings(w, r.argv);
  put_strings(w, r.env);
  w.str(r.cwd);
  return w.take();
}

Result<ExecRequest> decode_exec(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the EXEC payload");
  ExecRequest out;
  ASSIGN_OR_RETURN(out.argv, read_c_strings(r, "argv", kMaxArgs));
  ASSIGN_OR_RETURN(out.env, read_c_strings(r, "env", kMaxEnv));
  ASSIGN_OR_RETURN(out.cwd, read_c_str(r, "cwd", kMaxPath));
  TRY(r.expect_end());
  if (out.argv.empty() || out.argv[0].empty()) return make_error("EXEC payload: empty command (argv[0])");
  for (size_t i = 0; i < out.env.size(); ++i) {
    const auto eq = out.env[i].find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error("EXEC payload: env[" + std::to_string(i) + "] is not NAME=value");
  }
  if (!out.cwd.empty() && !is_absolute_path(out.cwd))
    return make_error("EXEC payload: cwd '" + out.cwd + "' is not an absolute path");
  return out;
}

std::vector<uint8_t> encode_exit(const ExitReport& r) {
  ByteWriter w;
  w.u32(r.signaled ? 1 : 0);
  w.i32(r.code);
  return w.take();
}

Result<ExitReport> decode_exit(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the EXIT payload");
  ASSIGN_OR_RETURN(uint32_t kind, r.u32("kind"));
  ASSIGN_OR_RETURN(int32_t code, r.i32("code"));
  TRY(r.expect_end());
  if (kind > 1) return make_error("EXIT payload: kind " + std::to_string(kind) + " is neither 0 (exited) nor 1 (signaled)");
  if (kind == 0 && (code < 0 || code > 255))
    return make_error("EXIT payload: exit status " + std::to_string(code) + " is outside 0..255");
  if (kind == 1 && (code < 1 || code > 64))
    return make_error("EXIT payload: signal " + std::to_string(code) + " is outside 1..64");
  return ExitReport{kind == 1, code};
}

std::vector<uint8_t> encode_error(const ErrorReport& r) {
  ByteWriter w;
  w.i32(r.error_number);
  w.str(r.message);
  return w.take();
}

Result<ErrorReport> decode_error(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the ERROR payload");
  ErrorReport out;
  ASSIGN_OR_RETURN(out.error_number, r.i32("errno"));
  ASSIGN_OR_RETURN(out.message, r.str("message", 64 * 1024));
  TRY(r.expect_end());
  return out;
}

std::vector<uint8_t> encode_copy_in(const CopyInRequest& r) {
  ByteWriter w;
  w.str(r.path);
  w.u32(r.mode);
  return w.take();
}

Result<CopyInRequest> decode_copy_in(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the COPY_IN payload");
  CopyInRequest out;
  ASSIGN_OR_RETURN(out.path, read_c_str(r, "path", kMaxPath));
  ASSIGN_OR_RETURN(out.mode, r.u32("mode"));
  TRY(r.expect_end());
  if (!is_absolute_path(out.path)) return make_error("COPY_IN payload: path '" + out.path + "' is not absolute");
  if (out.mode > 07777) return make_error("COPY_IN payload: mode " + std::to_string(out.mode) + " has bits beyond 07777");
  return out;
}

std::vector<uint8_t> encode_copy_out(const CopyOutRequest& r) {
  ByteWriter w;
  w.str(r.path);
  return w.take();
}

Result<CopyOutRequest> decode_copy_out(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the COPY_OUT payload");
  CopyOutRequest out;
  ASSIGN_OR_RETURN(out.path, read_c_str(r, "path", kMaxPath));
  TRY(r.expect_end());
  if (!is_absolute_path(out.path)) return make_error("COPY_OUT payload: path '" + out.path + "' is not absolute");
  return out;
}

std::vector<uint8_t> encode_copy_out_end(const CopyOutEnd& r) {
  ByteWriter w;
  w.u32(r.mode);
  w.u64(r.size);
  return w.take();
}

Result<CopyOutEnd> decode_copy_out_end(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the END payload");
  CopyOutEnd out;
  ASSIGN_OR_RETURN(out.mode, r.u32("mode"));
  ASSIGN_OR_RETURN(out.size, r.u64("size"));
  TRY(r.expect_end());
  if (out.mode > 07777) return make_error("END payload: mode " + std::to_string(out.mode) + " has bits beyond 07777");
  return out;
}

std::vector<uint8_t> encode_ready(const ReadyReport& r) {
  ByteWriter w;
  w.u32(r.protocol_version);
  w.str(r.agent_version);
  return w.take();
}

Result<ReadyReport> decode_ready(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the READY payload");
  ReadyReport out;
  ASSIGN_OR_RETURN(out.protocol_version, r.u32("protocol version"));
  ASSIGN_OR_RETURN(out.agent_version, r.str("agent version", 256));
  TRY(r.expect_end());
  return out;
}

std::vector<uint8_t> encode_set_clock(const SetClockRequest& r) {
  ByteWriter w;
  w.u64(static_cast<uint64_t>(r.realtime_ns));
  return w.take();
}

Result<SetClockRequest> decode_set_clock(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the SET_CLOCK payload");
  ASSIGN_OR_RETURN(uint64_t ns, r.u64("realtime ns"));
  TRY(r.expect_end());
  const auto value = static_cast<int64_t>(ns);
  if (value < 0) return make_error("SET_CLOCK payload: a time before 1970");
  return SetClockRequest{value};
}

std::vector<uint8_t> encode_signal(const SignalRequest& r) {
  ByteWriter w;
  w.i32(r.signal);
  return w.take();
}

Result<SignalRequest> decode_signal(std::span<const uint8_t> payload) {
  ByteReader r(payload, "the SIGNAL payload");
  ASSIGN_OR_RETURN(int32_t sig, r.i32("signal"));
  TRY(r.expect_end());
  if (sig < 1 || sig > 64) return make_error("SIGNAL payload: signal " + std::to_string(sig) + " is outside 1..64");
  return SignalRequest{sig};
}

Result<void> decode_empty(const Frame& frame) {
  if (!frame.payload.empty())
    return make_error(frame_type_name(frame.type) + " frame: expected no payload, got " +
                      std::to_string(frame.payload.size()) + " bytes");
  return {};
}

}  // namespace ember::agent
