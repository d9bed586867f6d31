#include "vmm/x86_64/loader/decompress.h"

#define ZLIB_CONST
#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

namespace ember {
namespace {

// liblzma may allocate this much at most: the kernel's xz uses a 32 MiB dictionary
// (scripts/xz_wrap.sh), so 256 MiB leaves ample room while a hostile header cannot demand gigabytes.
constexpr uint64_t kLzmaMemLimit = 256ULL << 20;
// zlib and libbz2 count bytes in unsigned int; feed them at most this much per call.
constexpr size_t kMaxStepBytes = 1U << 30;
constexpr size_t kMinOutputStep = 64U << 10;
// Guards limit + 1 against overflow; no kernel comes near a terabyte.
constexpr uint64_t kMaxSupportedLimit = 1ULL << 40;

// LZ4 legacy frame (lz4 -l, as used by the kernel's cmd_lz4): magic, then blocks of
// [u32 LE compressed size][data], each decompressing to at most 8 MiB.
constexpr uint32_t kLz4LegacyMagic = 0x184C2102;
constexpr size_t kLz4LegacyBlockSize = 8U << 20;

constexpr std::array<uint8_t, 2> kGzipMagic = {0x1f, 0x8b};
constexpr std::array<uint8_t, 6> kXzMagic = {0xfd, '7', 'z', 'X', 'Z', 0x00};
// An lzma-alone header starts with the properties byte (lc=3, lp=0, pb=2 is 0x5d, what every
// lzma tool writes) and a little-endian dictionary size; the kernel's decompressor matches 5d 00 00.
constexpr std::array<uint8_t, 3> kLzmaMagic = {0x5d, 0x00, 0x00};
constexpr std::array<uint8_t, 3> kBzip2Magic = {'B', 'Z', 'h'};
constexpr std::array<uint8_t, 4> kZstdMagic = {0x28, 0xb5, 0x2f, 0xfd};
constexpr std::array<uint8_t, 4> kLz4Magic = {0x02, 0x21, 0x4c, 0x18};
constexpr std::array<uint8_t, 4> kLzoMagic = {0x89, 'L', 'Z', 'O'};
constexpr std::array<uint8_t, 4> kElfMagic = {0x7f, 'E', 'L', 'F'};

template <size_t N>
bool starts_with(std::span<const uint8_t> data, const std::array<uint8_t, N>& magic) {
  return data.size() >= N && std::equal(magic.begin(), magic.end(), data.begin());
}

uint32_t read_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

Error too_large(std::string_view format, uint64_t limit) {
  return make_error(std::string(format) + " payload decompresses to more than the limit of " +
                    std::to_string(limit) + " bytes");
}

// A growing output buffer that refuses to grow past limit + 1 bytes. The extra byte lets a
// decoder prove that the output really exceeds the limit rather than ending exactly at it.
class BoundedOutput {
 public:
  BoundedOutput(uint64_t limit, size_t size_hint) : limit_(limit) {
    buf_.resize(static_cast<size_t>(std::min<uint64_t>(std::max(size_hint, kMinOutputStep), limit_ + 1)));
  }

  // Free space after the produced bytes, growing the buffer when it is full.
  std::span<uint8_t> space() {
    if (used_ == buf_.size()) {
      uint64_t grown = std::min<uint64_t>(std::max<uint64_t>(buf_.size() * 2, kMinOutputStep), limit_ + 1);
      buf_.resize(static_cast<size_t>(grown));
    }
    size_t free_bytes = std::min(buf_.size() - used_, kMaxStepBytes);
    return std::span<uint8_t>(buf_.data() + used_, free_bytes);
  }
  void commit(size_t n) { used_ += n; }
  [[nodiscard]] bool over_limit() const { return used_ > limit_; }
  [[nodiscard]] size_t used() const { return used_; }
  [[nodiscard]] bool full() const { return used_ == buf_.size(); }

  std::vector<uint8_t> take() && {
    buf_.resize(used_);
    // Copying a large kernel to save a little slack is not worth it.
    if (buf_.capacity() - used_ > used_ / 8) buf_.shrink_to_fit();
    return std::move(buf_);
  }

 private:
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  uint64_t limit_;
};

// One call into a streaming decoder: how much it consumed and produced, and whether the stream ended.
struct Step {
  size_t consumed = 0;
  size_t produced = 0;
  bool finished = false;
};
using StepFn = std::function<Result<Step>(std::span<const uint8_t> in, std::span<uint8_t> out)>;

// Drives a streaming decoder until its stream ends. A call that neither consumes nor produces
// means the decoder needs input that is not there: the stream is truncated.
// The first output buffer size. A kernel payload ends with its decompressed size; trusting it
// (within the limit, and only when it claims expansion) saves regrowing a 60 MiB vmlinux, while
// a wrong value costs at most an allocation the limit allows anyway.
size_t initial_output_size(std::span<const uint8_t> payload, uint64_t limit) {
  size_t guess = payload.size() * 4;
  if (payload.size() >= 8) {
    uint64_t appended = read_le32(payload.data() + payload.size() - 4);
    if (appended >= payload.size() && appended <= limit) guess = static_cast<size_t>(appended + 1);
  }
  return guess;
}

Result<std::vector<uint8_t>> run_decoder(std::span<const uint8_t> payload, uint64_t limit,
                                         std::string_view format, const StepFn& step) {
  BoundedOutput out(limit, initial_output_size(payload, limit));
  size_t in_pos = 0;
  for (;;) {
    std::span<uint8_t> space = out.space();
    if (space.empty()) return too_large(format, limit);  // buffer is at limit + 1 bytes
    std::span<const uint8_t> in = payload.subspan(in_pos, std::min(payload.size() - in_pos, kMaxStepBytes));
    ASSIGN_OR_RETURN(Step s, step(in, space));
    in_pos += s.consumed;
    out.commit(s.produced);
    if (out.over_limit()) return too_large(format, limit);
    if (s.finished) break;
    if (s.consumed == 0 && s.produced == 0)
      return make_error(std::string(format) + " payload is truncated: the stream ends before its end marker");
  }
  return std::move(out).take();
}

Error corrupt(std::string_view format, std::string_view detail) {
  return make_error(std::string(format) + " payload is corrupt (" + std::string(detail) + ")");
}

Result<std::vector<uint8_t>> decode_gzip(std::span<const uint8_t> payload, uint64_t limit) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (zlib manual, inflateInit2).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return make_error("cannot initialise zlib");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  return run_decoder(payload, limit, "gzip", [&](std::span<const uint8_t> in, std::span<uint8_t> out) -> Result<Step> {
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&zs, Z_NO_FLUSH);
    Step s{in.size() - zs.avail_in, out.size() - zs.avail_out, rc == Z_STREAM_END};
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      return corrupt("gzip", zs.msg != nullptr ? zs.msg : "zlib error " + std::to_string(rc));
    return s;
  });
}

std::string lzma_error_text(lzma_ret rc) {
  switch (rc) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "needs more than the decoder memory limit";
    case LZMA_FORMAT_ERROR: return "bad header";
    case LZMA_OPTIONS_ERROR: return "unsupported options";
    case LZMA_DATA_ERROR: return "bad data";
    case LZMA_BUF_ERROR: return "unexpected end of input";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
    default: return "liblzma error " + std::to_string(static_cast<int>(rc));
  }
}

// xz and lzma-alone share liblzma's streaming interface; only the decoder set-up differs.
Result<std::vector<uint8_t>> decode_lzma_family(std::span<const uint8_t> payload, uint64_t limit,
                                                std::string_view format, bool xz_container) {
  lzma_stream ls = LZMA_STREAM_INIT;
  // Without LZMA_CONCATENATED the xz decoder stops after the first stream, so the appended size
  // is never read as the start of a second stream.
  lzma_ret init = xz_container ? lzma_stream_decoder(&ls, kLzmaMemLimit, 0)
                               : lzma_alone_decoder(&ls, kLzmaMemLimit);
  if (init != LZMA_OK) return make_error("cannot initialise liblzma: " + lzma_error_text(init));
  std::unique_ptr<lzma_stream, decltype(&lzma_end)> guard(&ls, &lzma_end);
  return run_decoder(payload, limit, format, [&](std::span<const uint8_t> in, std::span<uint8_t> out) -> Result<Step> {
    ls.next_in = in.data();
    ls.avail_in = in.size();
    ls.next_out = out.data();
    ls.avail_out = out.size();
    lzma_ret rc = lzma_code(&ls, LZMA_RUN);
    Step s{in.size() - ls.avail_in, out.size() - ls.avail_out, rc == LZMA_STREAM_END};
    if (rc != LZMA_OK && rc != LZMA_STREAM_END && rc != LZMA_BUF_ERROR) return corrupt(format, lzma_error_text(rc));
    return s;
  });
}

Result<std::vector<uint8_t>> decode_bzip2(std::span<const uint8_t> payload, uint64_t limit) {
  bz_stream bs{};
  if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) return make_error("cannot initialise libbz2");
  std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&bs, &BZ2_bzDecompressEnd);
  return run_decoder(payload, limit, "bzip2", [&](std::span<const uint8_t> in, std::span<uint8_t> out) -> Result<Step> {
    // libbz2's interface is not const-correct; it never writes through next_in.
    bs.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    bs.avail_in = static_cast<unsigned>(in.size());
    bs.next_out = reinterpret_cast<char*>(out.data());
    bs.avail_out = static_cast<unsigned>(out.size());
    int rc = BZ2_bzDecompress(&bs);
    Step s{in.size() - bs.avail_in, out.size() - bs.avail_out, rc == BZ_STREAM_END};
    if (rc != BZ_OK && rc != BZ_STREAM_END) return corrupt("bzip2", "libbz2 error " + std::to_string(rc));
    return s;
  });
}

Result<std::vector<uint8_t>> decode_zstd(std::span<const uint8_t> payload, uint64_t limit) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) return make_error("cannot initialise libzstd");
  // The kernel compresses with zstd -22 --ultra: a 128 MiB window (log 27), zstd's default cap.
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 27);
  return run_decoder(payload, limit, "zstd", [&](std::span<const uint8_t> in, std::span<uint8_t> out) -> Result<Step> {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    size_t rc = ZSTD_decompressStream(dctx.get(), &ob, &ib);
    if (ZSTD_isError(rc)) return corrupt("zstd", ZSTD_getErrorName(rc));
    // 0: the first frame is fully decoded and flushed; anything after it is ignored.
    return Step{ib.pos, ob.pos, rc == 0};
  });
}

Result<std::vector<uint8_t>> decode_lz4_legacy(std::span<const uint8_t> payload, uint64_t limit) {
  const size_t max_block = static_cast<size_t>(LZ4_compressBound(static_cast<int>(kLz4LegacyBlockSize)));
  std::vector<uint8_t> block(kLz4LegacyBlockSize);
  std::vector<uint8_t> out;
  size_t pos = kLz4Magic.size();
  while (payload.size() - pos >= 4) {
    uint32_t block_size = read_le32(payload.data() + pos);
    // The frame has no end marker. It ends at a second frame's magic, or at the decompressed size
    // the kernel build appends (recognised by its value, or by being the last 4 bytes).
    if (block_size == kLz4LegacyMagic || payload.size() - pos == 4 || (!out.empty() && block_size == out.size())) break;
    pos += 4;
    if (block_size == 0 || block_size > max_block)
      return corrupt("lz4", "block at offset " + std::to_string(pos - 4) + " claims " +
                                std::to_string(block_size) + " compressed bytes");
    if (block_size > payload.size() - pos)
      return make_error("lz4 payload is truncated: block at offset " + std::to_string(pos - 4) + " needs " +
                        std::to_string(block_size) + " bytes, " + std::to_string(payload.size() - pos) +
                        " remain");
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(payload.data() + pos),
                                reinterpret_cast<char*>(block.data()), static_cast<int>(block_size),
                                static_cast<int>(block.size()));
    if (n < 0) return corrupt("lz4", "block at offset " + std::to_string(pos - 4) + " does not decode");
    if (static_cast<uint64_t>(n) > limit - out.size()) return too_large("lz4", limit);
    out.insert(out.end(), block.begin(), block.begin() + n);
    pos += block_size;
  }
  return out;
}

}  // namespace

PayloadFormat detect_payload_format(std::span<const uint8_t> payload) {
  if (starts_with(payload, kGzipMagic)) return PayloadFormat::kGzip;
  if (starts_with(payload, kXzMagic)) return PayloadFormat::kXz;
  if (starts_with(payload, kLzmaMagic)) return PayloadFormat::kLzma;
  if (starts_with(payload, kBzip2Magic)) return PayloadFormat::kBzip2;
  if (starts_with(payload, kZstdMagic)) return PayloadFormat::kZstd;
  if (starts_with(payload, kLz4Magic)) return PayloadFormat::kLz4;
  if (starts_with(payload, kLzoMagic)) return PayloadFormat::kLzo;
  if (starts_with(payload, kElfMagic)) return PayloadFormat::kUncompressed;
  return PayloadFormat::kUnknown;
}

std::string_view payload_format_name(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kUncompressed: return "uncompressed";
    case PayloadFormat::kGzip: return "gzip";
    case PayloadFormat::kXz: return "xz";
    case PayloadFormat::kLzma: return "lzma";
    case PayloadFormat::kBzip2: return "bzip2";
    case PayloadFormat::kZstd: return "zstd";
    case PayloadFormat::kLz4: return "lz4";
    case PayloadFormat::kLzo: return "lzo";
    case PayloadFormat::kUnknown: break;
  }
  return "unknown";
}

bool can_decompress_on_host(PayloadFormat format) {
  return format != PayloadFormat::kUnknown && format != PayloadFormat::kLzo;
}

Result<std::vector<uint8_t>> decompress_kernel_payload(std::span<const uint8_t> payload, uint64_t max_output,
                                                       std::string* format_name) {
  PayloadFormat format = detect_payload_format(payload);
  if (format_name != nullptr) *format_name = std::string(payload_format_name(format));
  uint64_t limit = std::min(max_output, kMaxSupportedLimit);
  switch (format) {
    case PayloadFormat::kUncompressed:
      if (payload.size() > limit) return too_large("uncompressed", limit);
      return std::vector<uint8_t>(payload.begin(), payload.end());
    case PayloadFormat::kGzip: return decode_gzip(payload, limit);
    case PayloadFormat::kXz: return decode_lzma_family(payload, limit, "xz", true);
    case PayloadFormat::kLzma: return decode_lzma_family(payload, limit, "lzma", false);
    case PayloadFormat::kBzip2: return decode_bzip2(payload, limit);
    case PayloadFormat::kZstd: return decode_zstd(payload, limit);
    case PayloadFormat::kLz4: return decode_lz4_legacy(payload, limit);
    case PayloadFormat::kLzo: return make_error("lzo kernel payloads cannot be decompressed on the host");
    case PayloadFormat::kUnknown: break;
  }
  char magic[32] = "";
  size_t shown = std::min<size_t>(payload.size(), 4);
  for (size_t i = 0; i < shown; ++i)
    std::snprintf(magic + std::strlen(magic), sizeof magic - std::strlen(magic), "%s%02x", i ? " " : "", payload[i]);
  if (shown == 0) std::snprintf(magic, sizeof magic, "none: empty payload");
  return make_error(std::string("unsupported kernel payload compression (magic ") + magic + ")");
}

}  // namespace ember
