#include "vmm/x86_64/loader/bzimage.h"

#include <gtest/gtest.h>

#include "tests/unit/vmm/x86_64/loader/test_images.h"

namespace ember {
namespace {

using namespace test_images;  // NOLINT(google-build-using-namespace)

BzImageSpec default_spec() {
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(5000));
  return spec;
}

void expect_error(const Result<BzImage>& r, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

TEST(BzImage, ParsesTheSetupHeader) {
  BzImageSpec spec = default_spec();
  Bytes image = build_bzimage(spec);
  EXPECT_TRUE(has_bzimage_signature(image));
  auto bz = parse_bzimage(image);
  ASSERT_TRUE(bz.ok()) << bz.error().message;
  EXPECT_EQ(bz->protocol_version, 0x020f);
  EXPECT_EQ(bz->setup_sects, 4);
  EXPECT_EQ(bz->kernel_offset, 5u * 512);
  EXPECT_EQ(bz->kernel_size, image.size() - 5 * 512);
  EXPECT_EQ(bz->payload_offset, 5u * 512 + 0x300);
  EXPECT_EQ(bz->payload_size, spec.payload.size());
  EXPECT_TRUE(bz->relocatable);
  EXPECT_EQ(bz->kernel_alignment, 0x200000u);
  EXPECT_EQ(bz->pref_address, 0x1000000u);
  EXPECT_EQ(bz->init_size, 0x200000u);
  EXPECT_EQ(bz->cmdline_size, 2047u);
  EXPECT_EQ(bz->initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(bz->xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);

  // 0x1f1 .. 0x202 + 0x6a, byte for byte.
  ASSERT_EQ(bz->setup_header.size(), 0x202u + 0x6a - 0x1f1);
  EXPECT_TRUE(std::equal(bz->setup_header.begin(), bz->setup_header.end(), image.begin() + 0x1f1));

  auto payload = bzimage_payload(image, *bz);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), spec.payload.begin(), spec.payload.end()));
  auto kernel = bzimage_protected_mode_kernel(image, *bz);
  EXPECT_EQ(kernel.data(), image.data() + 5 * 512);
  EXPECT_EQ(kernel.size(), image.size() - 5 * 512);
}

TEST(BzImage, ZeroSetupSectsMeansFour) {
  BzImageSpec spec = default_spec();
  spec.setup_sects = 0;
  auto bz = parse_bzimage(build_bzimage(spec));
  ASSERT_TRUE(bz.ok()) << bz.error().message;
  EXPECT_EQ(bz->setup_sects, 4);
  EXPECT_EQ(bz->kernel_offset, 5u * 512);
}

TEST(BzImage, EveryTruncationIsAnError) {
  Bytes image = build_bzimage(default_spec());
  for (size_t len = 0; len < image.size(); ++len) {
    auto r = parse_bzimage(std::span<const uint8_t>(image.data(), len));
    ASSERT_FALSE(r.ok()) << "length " << len;
    if (len >= 0x264) {
      EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
    }
  }
  expect_error(parse_bzimage(Bytes(0x210, 0)), "setup header truncated");
}

TEST(BzImage, RejectsBadSignatures) {
  Bytes image = build_bzimage(default_spec());
  Bytes b = image;
  b[0x1fe] = 0;
  EXPECT_FALSE(has_bzimage_signature(b));
  expect_error(parse_bzimage(b), "0xAA55");
  b = image;
  b[0x203] = 'X';
  EXPECT_FALSE(has_bzimage_signature(b));
  expect_error(parse_bzimage(b), "HdrS");
}

TEST(BzImage, RejectsOldProtocolsAndMissingFlags) {
  BzImageSpec spec = default_spec();
  spec.version = 0x0207;
  expect_error(parse_bzimage(build_bzimage(spec)), "boot protocol 2.7 is too old");

  spec = default_spec();
  spec.version = 0x020b;  // xloadflags did not exist yet
  expect_error(parse_bzimage(build_bzimage(spec)), "XLF_KERNEL_64");

  spec = default_spec();
  spec.xloadflags = 0;
  expect_error(parse_bzimage(build_bzimage(spec)), "no 64-bit entry point");

  spec = default_spec();
  spec.loadflags = 0;
  expect_error(parse_bzimage(build_bzimage(spec)), "LOADED_HIGH");
}

TEST(BzImage, RejectsBadPayloadAndHeaderFields) {
  Bytes image = build_bzimage(default_spec());
  Bytes b = image;
  put(b, 0x24c, uint32_t{0});
  expect_error(parse_bzimage(b), "empty payload");
  b = image;
  put(b, 0x248, uint32_t{0xffffffff});
  expect_error(parse_bzimage(b), "runs past");
  b = image;
  put(b, 0x24c, uint32_t{0xffffffff});
  expect_error(parse_bzimage(b), "runs past");
  b = image;
  b[0x201] = 0xff;  // header would end at 0x301
  expect_error(parse_bzimage(b), "past boot_params");
  b = image;
  b[0x1f1] = 200;  // setup longer than the file
  expect_error(parse_bzimage(b), "200 setup sectors");
  b = image;
  put(b, 0x1f4, uint32_t{0x10000000});  // syssize claims far more than the file holds
  expect_error(parse_bzimage(b), "declares a");
}

}  // namespace
}  // namespace ember
