#include "vmm/x86_64/loader/decompress.h"

#include <gtest/gtest.h>

#include "tests/unit/vmm/x86_64/loader/test_images.h"

namespace ember {
namespace {

using namespace test_images;  // NOLINT(google-build-using-namespace)

class DecompressFormatTest : public ::testing::TestWithParam<PayloadFormat> {};

TEST_P(DecompressFormatTest, RoundTripIgnoresTheAppendedSizeAndTrailingBytes) {
  Bytes data = sample_data(100000);
  Bytes payload = kernel_payload(GetParam(), data);
  payload.insert(payload.end(), {0xde, 0xad, 0xbe, 0xef, 0x00});  // e.g. padding after the payload
  EXPECT_EQ(detect_payload_format(payload), GetParam());
  std::string name;
  auto out = decompress_kernel_payload(payload, 1 << 20, &name);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, data);
  EXPECT_EQ(name, format_name(GetParam()));
}

TEST_P(DecompressFormatTest, OutputExactlyAtTheLimitIsAccepted) {
  Bytes data = sample_data(100000, 5);
  Bytes payload = kernel_payload(GetParam(), data);
  auto out = decompress_kernel_payload(payload, data.size(), nullptr);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, data);
}

TEST_P(DecompressFormatTest, OutputOverTheLimitIsAnError) {
  Bytes data = sample_data(100000, 5);
  Bytes payload = kernel_payload(GetParam(), data);
  for (uint64_t limit : {uint64_t{0}, uint64_t{1000}, uint64_t{data.size() - 1}}) {
    auto out = decompress_kernel_payload(payload, limit, nullptr);
    ASSERT_FALSE(out.ok()) << "limit " << limit;
    EXPECT_NE(out.error().message.find("more than the limit of " + std::to_string(limit) + " bytes"),
              std::string::npos)
        << out.error().message;
  }
}

TEST_P(DecompressFormatTest, TruncatedStreamIsAnErrorAtEveryCut) {
  Bytes data = sample_data(50000, 11);
  Bytes stream = compress_stream(GetParam(), data);
  size_t step = std::max<size_t>(1, stream.size() / 150);
  for (size_t len = 0; len < stream.size(); len += (len < 64 ? 1 : step)) {
    std::span<const uint8_t> cut(stream.data(), len);
    auto out = decompress_kernel_payload(cut, 1 << 20, nullptr);
    if (GetParam() == PayloadFormat::kLz4 && out.ok()) {
      // LZ4 legacy frames have no end marker: a cut between blocks reads as a shorter stream.
      EXPECT_LT(out->size(), data.size()) << "cut at " << len;
      continue;
    }
    EXPECT_FALSE(out.ok()) << "cut at " << len << " of " << stream.size();
  }
}

// Flipping bytes must never crash; formats with an integrity check must also report it.
TEST_P(DecompressFormatTest, CorruptStreamNeverCrashes) {
  Bytes data = sample_data(30000, 13);
  Bytes stream = kernel_payload(GetParam(), data);
  for (size_t pos = 4; pos + 4 < stream.size(); pos += 1 + stream.size() / 200) {
    Bytes bad = stream;
    bad[pos] ^= 0x55;
    auto out = decompress_kernel_payload(bad, 1 << 20, nullptr);
    if (out.ok()) {
      EXPECT_LE(out->size(), size_t{1} << 20);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllHostFormats, DecompressFormatTest, ::testing::ValuesIn(kHostFormats),
                         [](const auto& info) { return format_name(info.param); });

TEST(Decompress, ChecksummedFormatsReportCorruption) {
  Bytes data = sample_data(60000, 17);
  for (PayloadFormat f : {PayloadFormat::kGzip, PayloadFormat::kXz, PayloadFormat::kBzip2, PayloadFormat::kZstd}) {
    Bytes payload = kernel_payload(f, data);
    payload[payload.size() / 2] ^= 0xff;
    payload[payload.size() / 2 + 1] ^= 0xa5;
    auto out = decompress_kernel_payload(payload, 1 << 20, nullptr);
    ASSERT_FALSE(out.ok()) << format_name(f);
    EXPECT_NE(out.error().message.find(format_name(f) + " payload is"), std::string::npos) << out.error().message;
  }
}

TEST(Decompress, GarbageAfterTheMagicIsAnError) {
  for (PayloadFormat f : kHostFormats) {
    Bytes payload = kernel_payload(f, sample_data(1000));
    size_t magic_len = f == PayloadFormat::kLzma ? 3 : (f == PayloadFormat::kXz ? 6 : 4);
    if (f == PayloadFormat::kGzip) magic_len = 2;
    for (size_t i = magic_len; i < payload.size(); ++i) payload[i] = 0xff;
    auto out = decompress_kernel_payload(payload, 1 << 20, nullptr);
    EXPECT_FALSE(out.ok()) << format_name(f);
  }
}

// The kernel's xz payload runs through the x86 BCJ filter before LZMA2 (scripts/xz_wrap.sh).
TEST(Decompress, XzWithTheX86BcjFilter) {
  Bytes data = sample_data(40000, 29);
  lzma_options_lzma lz;
  ASSERT_FALSE(lzma_lzma_preset(&lz, 1));
  lzma_filter filters[] = {{LZMA_FILTER_X86, nullptr}, {LZMA_FILTER_LZMA2, &lz}, {LZMA_VLI_UNKNOWN, nullptr}};
  Bytes payload(lzma_stream_buffer_bound(data.size()));
  size_t pos = 0;
  ASSERT_EQ(lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, nullptr, data.data(), data.size(), payload.data(),
                                      &pos, payload.size()),
            LZMA_OK);
  payload.resize(pos);
  append_size(payload, data.size());
  auto out = decompress_kernel_payload(payload, 1 << 20, nullptr);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, data);
}

TEST(Decompress, Lz4MultipleBlocksAndASecondFrameStop) {
  Bytes data = sample_data((8u << 20) + 12345, 19);  // two 8 MiB legacy blocks
  Bytes stream = lz4_legacy_compress(data);
  Bytes second_frame = lz4_legacy_compress(sample_data(1000, 23));
  stream.insert(stream.end(), second_frame.begin(), second_frame.end());
  auto out = decompress_kernel_payload(stream, 64 << 20, nullptr);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, data);
}

TEST(Decompress, Lz4BadBlockSizesAreErrors) {
  Bytes payload;
  put(payload, 0, uint32_t{0x184C2102});
  put(payload, 4, uint32_t{0xfffffff0});  // far larger than any 8 MiB block can compress to
  payload.resize(64, 0x11);
  auto huge = decompress_kernel_payload(payload, 1 << 20, nullptr);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("lz4 payload is corrupt"), std::string::npos) << huge.error().message;

  put(payload, 4, uint32_t{1000});  // more than what follows
  auto truncated = decompress_kernel_payload(payload, 1 << 20, nullptr);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("truncated"), std::string::npos) << truncated.error().message;

  put(payload, 4, uint32_t{0});
  EXPECT_FALSE(decompress_kernel_payload(payload, 1 << 20, nullptr).ok());
}

TEST(Decompress, UnknownMagicIsNamed) {
  Bytes payload = {0x12, 0x34, 0x56, 0x78, 0x9a};
  std::string name;
  auto out = decompress_kernel_payload(payload, 1 << 20, &name);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "unsupported kernel payload compression (magic 12 34 56 78)");
  EXPECT_EQ(name, "unknown");
  EXPECT_EQ(detect_payload_format(payload), PayloadFormat::kUnknown);
  EXPECT_FALSE(can_decompress_on_host(PayloadFormat::kUnknown));
}

TEST(Decompress, EmptyAndTinyPayloadsAreErrors) {
  EXPECT_FALSE(decompress_kernel_payload({}, 1 << 20, nullptr).ok());
  Bytes one = {0x1f};
  EXPECT_FALSE(decompress_kernel_payload(one, 1 << 20, nullptr).ok());
  Bytes gzip_magic_only = {0x1f, 0x8b};
  EXPECT_FALSE(decompress_kernel_payload(gzip_magic_only, 1 << 20, nullptr).ok());
}

TEST(Decompress, LzoIsRecognisedButNotDecoded) {
  Bytes payload = {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a};
  EXPECT_EQ(detect_payload_format(payload), PayloadFormat::kLzo);
  EXPECT_FALSE(can_decompress_on_host(PayloadFormat::kLzo));
  std::string name;
  auto out = decompress_kernel_payload(payload, 1 << 20, &name);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(name, "lzo");
}

TEST(Decompress, UncompressedElfIsCopiedWithinTheLimit) {
  Bytes elf = build_elf(vmlinux_like_spec());
  auto out = decompress_kernel_payload(elf, elf.size(), nullptr);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, elf);
  EXPECT_FALSE(decompress_kernel_payload(elf, elf.size() - 1, nullptr).ok());
}

// A decompression bomb stops at the limit instead of allocating what the stream asks for.
TEST(Decompress, BombStopsAtTheLimit) {
  Bytes zeros(16u << 20, 0);
  Bytes payload = kernel_payload(PayloadFormat::kZstd, zeros);
  ASSERT_LT(payload.size(), 64u << 10);
  auto out = decompress_kernel_payload(payload, 1 << 20, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("limit"), std::string::npos);
}

}  // namespace
}  // namespace ember
