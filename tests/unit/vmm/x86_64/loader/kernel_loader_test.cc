#include "vmm/x86_64/loader/kernel_loader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tests/unit/vmm/x86_64/loader/test_images.h"
#include "base/file.h"
#include "vmm/x86_64/loader/bzimage.h"
#include "vmm/x86_64/loader/elf_loader.h"

namespace ember {
namespace {

using namespace test_images;  // NOLINT(google-build-using-namespace)

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

void expect_error(const Result<LoadedKernel>& r, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << fragment;
  EXPECT_TRUE(contains(r.error().message, fragment)) << r.error().message;
}

// The vmlinux segments of vmlinux_like_spec() landed, with the bss zeroed.
void expect_vmlinux_loaded(const GuestMemory& mem, const ElfSpec& spec) {
  EXPECT_EQ(read_guest(mem, 0x1000000, 0x3000), spec.segments[0].data);
  EXPECT_EQ(read_guest(mem, 0x1400000, 0x1800), spec.segments[1].data);
  EXPECT_EQ(read_guest(mem, 0x1401800, 0x3800), Bytes(0x3800, 0));
}

TEST(KernelLoader, ElfWithPvhNoteBootsThroughPvh) {
  GuestMemory mem = make_memory(32 << 20);
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  auto k = load_kernel(mem, build_elf(spec), BzImageMode::kAuto);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->protocol, BootProtocol::kPvh);
  EXPECT_EQ(k->entry, 0x1000040u);
  EXPECT_EQ(k->image_end, 0x1405000u);
  EXPECT_TRUE(k->setup_header.empty());
  EXPECT_TRUE(contains(k->description, "PVH entry 0x1000040")) << k->description;
  expect_vmlinux_loaded(mem, spec);
}

TEST(KernelLoader, ElfWithoutPvhNoteUsesThe64BitEntry) {
  GuestMemory mem = make_memory(32 << 20);
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kNone);
  auto k = load_kernel(mem, build_elf(spec), BzImageMode::kGuest);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->protocol, BootProtocol::kLinux64);
  EXPECT_EQ(k->entry, 0x1000000u);
  expect_vmlinux_loaded(mem, spec);
}

TEST(KernelLoader, ElfErrorsPassThrough) {
  GuestMemory mem = make_memory(0x1100000);
  expect_error(load_kernel(mem, build_elf(vmlinux_like_spec()), BzImageMode::kAuto),
               "kernel needs guest memory up to 0x1405000, VM has 0x1100000");
  Bytes elf = build_elf(vmlinux_like_spec());
  expect_error(load_kernel(mem, std::span<const uint8_t>(elf.data(), 40), BzImageMode::kAuto), "ELF header truncated");
}

TEST(KernelLoader, NeitherElfNorBzImage) {
  GuestMemory mem = make_memory(4 << 20);
  for (const Bytes& image : {Bytes{}, Bytes{0x7f, 'E', 'L'}, sample_data(4096), Bytes(0x300, 0)}) {
    expect_error(load_kernel(mem, image, BzImageMode::kAuto), "kernel image is neither an ELF vmlinux nor a bzImage");
  }
}

class KernelLoaderHostModeTest : public ::testing::TestWithParam<PayloadFormat> {};

TEST_P(KernelLoaderHostModeTest, DecompressesAndLoadsTheVmlinuxInside) {
  ElfSpec elf_spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  BzImageSpec spec;
  spec.payload = kernel_payload(GetParam(), vmlinux_with_relocs(elf_spec));
  Bytes image = build_bzimage(spec);
  for (BzImageMode mode : {BzImageMode::kHost, BzImageMode::kAuto}) {
    GuestMemory mem = make_memory(32 << 20);
    ASSERT_TRUE(mem.fill(0x1400000, 0xcc, 0x5000).ok());
    auto k = load_kernel(mem, image, mode);
    ASSERT_TRUE(k.ok()) << k.error().message;
    // A decompressed bzImage boots through its 64-bit entry even when the ELF has a PVH note.
    EXPECT_EQ(k->protocol, BootProtocol::kLinux64);
    EXPECT_EQ(k->entry, 0x1000000u);
    EXPECT_EQ(k->image_end, 0x1405000u);
    ASSERT_EQ(k->setup_header.size(), 0x202u + 0x6a - 0x1f1);
    EXPECT_TRUE(std::equal(k->setup_header.begin(), k->setup_header.end(), image.begin() + 0x1f1));
    EXPECT_EQ(k->description, "bzImage (boot protocol 2.15), " + format_name(GetParam()) +
                                  " payload decompressed on the host, 64-bit entry 0x1000000");
    expect_vmlinux_loaded(mem, elf_spec);
  }
}

TEST_P(KernelLoaderHostModeTest, CorruptPayloadIsAnErrorEvenInAutoMode) {
  BzImageSpec spec;
  spec.payload = kernel_payload(GetParam(), vmlinux_with_relocs(vmlinux_like_spec()));
  // Past each format's magic, replace the stream with bytes no decoder accepts.
  for (size_t i = 6; i < spec.payload.size(); ++i) spec.payload[i] = 0xff;
  if (GetParam() == PayloadFormat::kLzma) spec.payload[3] = spec.payload[4] = 0xff;
  GuestMemory mem = make_memory(32 << 20);
  auto k = load_kernel(mem, build_bzimage(spec), BzImageMode::kAuto);
  expect_error(k, "bzImage payload: " + format_name(GetParam()) + " payload");
}

INSTANTIATE_TEST_SUITE_P(AllHostFormats, KernelLoaderHostModeTest, ::testing::ValuesIn(kHostFormats),
                         [](const auto& info) { return format_name(info.param); });

TEST(KernelLoader, GuestModeLoadsARelocatableKernelAtItsPreferredAddress) {
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kXz, vmlinux_with_relocs(vmlinux_like_spec()));
  Bytes image = build_bzimage(spec);
  GuestMemory mem = make_memory(32 << 20);
  auto k = load_kernel(mem, image, BzImageMode::kGuest);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->protocol, BootProtocol::kLinux64);
  EXPECT_EQ(k->entry, 0x1000200u);
  EXPECT_EQ(k->image_end, 0x1000000u + spec.init_size);
  size_t kernel_size = image.size() - 5 * 512;
  EXPECT_EQ(read_guest(mem, 0x1000000, kernel_size), Bytes(image.begin() + 5 * 512, image.end()));
  EXPECT_TRUE(std::equal(k->setup_header.begin(), k->setup_header.end(), image.begin() + 0x1f1));
  EXPECT_TRUE(contains(k->description, "in the guest")) << k->description;
  EXPECT_TRUE(contains(k->description, "xz")) << k->description;
}

TEST(KernelLoader, GuestModeLoadsAFixedKernelAt1MiB) {
  BzImageSpec spec;
  spec.relocatable = false;
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(3000));
  Bytes image = build_bzimage(spec);
  GuestMemory mem = make_memory(32 << 20);
  auto k = load_kernel(mem, image, BzImageMode::kGuest);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->entry, 0x100200u);
  // The decompressor runs the kernel from LOAD_PHYSICAL_ADDR (pref_address) and needs init_size there.
  EXPECT_EQ(k->image_end, 0x1000000u + spec.init_size);
  size_t kernel_size = image.size() - 5 * 512;
  EXPECT_EQ(read_guest(mem, 0x100000, kernel_size), Bytes(image.begin() + 5 * 512, image.end()));
}

TEST(KernelLoader, GuestModeNeedsEnoughMemory) {
  BzImageSpec spec;
  spec.init_size = 0x4000000;  // 64 MiB from 16 MiB
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(3000));
  GuestMemory mem = make_memory(32 << 20);
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kGuest),
               "kernel needs guest memory up to 0x5000000, VM has 0x2000000");
}

TEST(KernelLoader, GuestModeRejectsAbsurdAddressesAndTinyKernels) {
  GuestMemory mem = make_memory(32 << 20);
  BzImageSpec spec;
  spec.relocatable = false;
  spec.pref_address = 0xfffffffffff00000ULL;  // + init_size wraps
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(3000));
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kGuest),
               "kernel needs guest memory up to 0xffffffffffffffff");

  spec = BzImageSpec{};
  spec.payload_rel = 0x10;
  spec.payload = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00};
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kGuest), "too small to hold the 64-bit entry");
}

TEST(KernelLoader, HostModeNeedsEnoughMemory) {
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kZstd, vmlinux_with_relocs(vmlinux_like_spec()));
  GuestMemory mem = make_memory(0x1100000);
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kHost),
               "kernel needs guest memory up to 0x1405000, VM has 0x1100000");
}

TEST(KernelLoader, UnknownPayloadFallsBackToGuestModeOnlyInAutoMode) {
  BzImageSpec spec;
  spec.payload = {0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00};
  Bytes image = build_bzimage(spec);
  GuestMemory mem = make_memory(32 << 20);
  expect_error(load_kernel(mem, image, BzImageMode::kHost),
               "unsupported kernel payload compression (magic 12 34 56 78)");
  auto k = load_kernel(mem, image, BzImageMode::kAuto);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->entry, 0x1000200u);
  EXPECT_TRUE(contains(k->description, "in the guest")) << k->description;
}

TEST(KernelLoader, PayloadThatIsNotAnElfIsAnError) {
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(3000));
  GuestMemory mem = make_memory(32 << 20);
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kHost), "not an ELF vmlinux");
}

TEST(KernelLoader, BadElfInsidePayloadIsNamed) {
  ElfSpec elf_spec = vmlinux_like_spec();
  elf_spec.segments[0].paddr = 0x80000;  // below 1 MiB
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kGzip, vmlinux_with_relocs(elf_spec));
  GuestMemory mem = make_memory(32 << 20);
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kHost), "vmlinux inside the bzImage: ELF segment 0");
}

TEST(KernelLoader, BzImageHeaderErrorsPassThrough) {
  GuestMemory mem = make_memory(32 << 20);
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kGzip, sample_data(3000));
  spec.version = 0x0206;
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kAuto), "too old");
  spec.version = 0x020f;
  spec.xloadflags = 0;
  expect_error(load_kernel(mem, build_bzimage(spec), BzImageMode::kAuto), "XLF_KERNEL_64");
}

TEST(KernelLoader, TruncatedBzImagesAreErrorsInEveryMode) {
  BzImageSpec spec;
  spec.payload = kernel_payload(PayloadFormat::kLz4, vmlinux_with_relocs(vmlinux_like_spec()));
  Bytes image = build_bzimage(spec);
  GuestMemory mem = make_memory(32 << 20);
  for (BzImageMode mode : {BzImageMode::kAuto, BzImageMode::kHost, BzImageMode::kGuest}) {
    for (size_t len = 0; len < image.size(); len += (len < 0x300 ? 7 : 61)) {
      auto k = load_kernel(mem, std::span<const uint8_t>(image.data(), len), mode);
      EXPECT_FALSE(k.ok()) << "length " << len;
    }
  }
}

// Debian's stock kernel, which scripts/fetch-guest-kernel.sh puts in $EMBER_GUEST_KERNEL_DIR;
// scripts/test.sh fetches it and sets the variable for every test run.
TEST(KernelLoader, RealDebianBzImage) {
  const char* dir = std::getenv("EMBER_GUEST_KERNEL_DIR");
  if (dir == nullptr) GTEST_SKIP() << "EMBER_GUEST_KERNEL_DIR is not set (scripts/test.sh sets it)";
  const std::string path = std::string(dir) + "/vmlinuz";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch-guest-kernel.sh " << dir;
  auto file = read_file(path, 64 << 20);
  ASSERT_TRUE(file.ok()) << file.error().message;
  std::span<const uint8_t> image(*file);

  auto bz = parse_bzimage(image);
  ASSERT_TRUE(bz.ok()) << bz.error().message;
  EXPECT_GE(bz->protocol_version, 0x020c);
  std::string format;
  auto vmlinux = decompress_kernel_payload(bzimage_payload(image, *bz), kMaxDecompressedKernelSize, &format);
  ASSERT_TRUE(vmlinux.ok()) << vmlinux.error().message;
  auto elf = parse_elf_kernel(*vmlinux);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  std::printf("real kernel: %s payload, %zu bytes decompressed, entry 0x%llx, pvh %s0x%llx, [0x%llx, 0x%llx)\n",
              format.c_str(), vmlinux->size(), static_cast<unsigned long long>(elf->entry),
              elf->pvh_entry ? "" : "none ", static_cast<unsigned long long>(elf->pvh_entry.value_or(0)),
              static_cast<unsigned long long>(elf->load_start), static_cast<unsigned long long>(elf->load_end));

  for (BzImageMode mode : {BzImageMode::kHost, BzImageMode::kGuest}) {
    GuestMemory mem = make_memory(256 << 20);
    auto k = load_kernel(mem, image, mode);
    ASSERT_TRUE(k.ok()) << k.error().message;
    std::printf("real kernel: %s, ends at 0x%llx\n", k->description.c_str(),
                static_cast<unsigned long long>(k->image_end));
    EXPECT_EQ(k->protocol, BootProtocol::kLinux64);
    EXPECT_EQ(k->setup_header.size(), 0x202u + image[0x201] - 0x1f1);
    EXPECT_LE(k->image_end, 256u << 20);
    if (mode == BzImageMode::kHost) {
      EXPECT_EQ(k->entry, elf->entry);
      EXPECT_EQ(k->image_end, elf->load_end);
    } else {
      EXPECT_EQ(k->entry, bz->pref_address + 0x200);
    }
  }
}

}  // namespace
}  // namespace ember
