#include "vmm/x86_64/boot_info.h"

#include <asm/bootparam.h>
#include <gtest/gtest.h>

#include "vmm/x86_64/layout.h"

namespace ember {
namespace {

GuestMemory memory(uint64_t mib) {
  auto m = GuestMemory::create_anonymous(ram_regions_for(mib << 20));
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

TEST(MemoryMap, SmallVmIsOneRegionAndThreeE820Entries) {
  auto mem = memory(128);
  auto map = e820_map(mem);
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[0].addr, 0u);
  EXPECT_EQ(map[0].size, layout::kEbdaStart);
  EXPECT_EQ(map[1].addr, layout::kAcpiStart);
  EXPECT_EQ(map[1].type, E820Type::kReserved);
  EXPECT_EQ(map[2].addr, layout::kHighMemStart);
  EXPECT_EQ(map[2].size, (128u << 20) - layout::kHighMemStart);
  EXPECT_EQ(map[2].type, E820Type::kRam);
}

TEST(MemoryMap, LargeVmSkipsTheMmioHole) {
  auto regions = ram_regions_for(4ull << 30);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].size, layout::kMmioStart);
  EXPECT_EQ(regions[1].guest_addr, layout::kFourGiB);
  EXPECT_EQ(regions[0].size + regions[1].size, 4ull << 30);
}

TEST(ZeroPage, CarriesCmdlineInitrdE820AndRsdp) {
  auto mem = memory(64);
  BootInfo info{};
  info.memory_map = e820_map(mem);
  info.cmdline_addr = layout::kCmdlineAddr;
  info.cmdline_size = 14;
  info.initrd = InitrdPlacement{0x3000000, 0x123456};
  info.rsdp_addr = layout::kAcpiStart;
  auto addr = write_zero_page(mem, info);
  ASSERT_TRUE(addr.ok());
  auto bp = mem.read_obj<boot_params>(*addr);
  ASSERT_TRUE(bp.ok());
  EXPECT_EQ(bp->hdr.boot_flag, 0xaa55);
  EXPECT_EQ(bp->hdr.header, 0x53726448u);
  EXPECT_EQ(bp->hdr.type_of_loader, 0xff);
  EXPECT_TRUE(bp->hdr.loadflags & LOADED_HIGH);
  EXPECT_EQ(bp->hdr.cmd_line_ptr, layout::kCmdlineAddr);
  EXPECT_EQ(bp->hdr.ramdisk_image, 0x3000000u);
  EXPECT_EQ(bp->hdr.ramdisk_size, 0x123456u);
  EXPECT_EQ(bp->acpi_rsdp_addr, layout::kAcpiStart);
  ASSERT_EQ(bp->e820_entries, 3);
  EXPECT_EQ(bp->e820_table[2].addr, layout::kHighMemStart);
  EXPECT_EQ(bp->e820_table[2].type, 1u);
}

TEST(ZeroPage, KeepsTheBzImageSetupHeader) {
  auto mem = memory(64);
  std::vector<uint8_t> hdr(sizeof(setup_header), 0);
  setup_header h{};
  h.setup_sects = 27;
  h.version = 0x020f;
  h.boot_flag = 0xaa55;
  h.header = 0x53726448;
  h.xloadflags = 0x7f;
  std::memcpy(hdr.data(), &h, sizeof h);
  BootInfo info{};
  info.memory_map = e820_map(mem);
  info.setup_header = hdr;
  auto addr = write_zero_page(mem, info);
  ASSERT_TRUE(addr.ok());
  auto bp = mem.read_obj<boot_params>(*addr);
  EXPECT_EQ(bp->hdr.setup_sects, 27);
  EXPECT_EQ(bp->hdr.version, 0x020f);
  EXPECT_EQ(bp->hdr.xloadflags, 0x7f);
  EXPECT_EQ(bp->hdr.type_of_loader, 0xff);  // overridden: we are the loader
}

TEST(PvhStartInfo, MagicMemmapAndModule) {
  auto mem = memory(64);
  BootInfo info{};
  info.memory_map = e820_map(mem);
  info.cmdline_addr = layout::kCmdlineAddr;
  info.rsdp_addr = layout::kAcpiStart;
  info.initrd = InitrdPlacement{0x2000000, 0x1000};
  auto addr = write_pvh_start_info(mem, info);
  ASSERT_TRUE(addr.ok());
  struct Words { uint32_t magic, version, flags, nr_modules; uint64_t modlist, cmdline, rsdp, memmap; uint32_t entries; };
  auto w = mem.read_obj<Words>(*addr);
  EXPECT_EQ(w->magic, 0x336ec578u);
  EXPECT_EQ(w->version, 1u);
  EXPECT_EQ(w->nr_modules, 1u);
  EXPECT_EQ(w->cmdline, layout::kCmdlineAddr);
  EXPECT_EQ(w->rsdp, layout::kAcpiStart);
  EXPECT_EQ(w->entries, 3u);
  EXPECT_EQ(*mem.read_obj<uint64_t>(w->modlist), 0x2000000u);
  EXPECT_EQ(*mem.read_obj<uint64_t>(w->modlist + 8), 0x1000u);
  EXPECT_EQ(*mem.read_obj<uint64_t>(w->memmap + 2 * 24), layout::kHighMemStart);  // entry 2 addr
}

TEST(Cmdline, WrittenWithNulAndLengthChecked) {
  auto mem = memory(16);
  ASSERT_TRUE(write_cmdline(mem, "console=ttyS0", 256).ok());
  char buf[14];
  ASSERT_TRUE(mem.read(layout::kCmdlineAddr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), 14)).ok());
  EXPECT_STREQ(buf, "console=ttyS0");
  EXPECT_FALSE(write_cmdline(mem, std::string(256, 'a'), 256).ok());
  EXPECT_TRUE(write_cmdline(mem, std::string(255, 'a'), 256).ok());
  EXPECT_FALSE(write_cmdline(mem, std::string("a\0b", 3), 256).ok());
}

TEST(Initrd, PlacedHighPageAlignedAndAboveTheKernel) {
  auto mem = memory(64);
  auto addr = place_initrd(mem, 0x1801, 0x2000000, 0x7fffffff);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr % 0x1000, 0u);
  EXPECT_LE(*addr + 0x1801, 64u << 20);
  EXPECT_GT(*addr + 0x1801 + 0x1000, 64u << 20);
  EXPECT_FALSE(place_initrd(mem, 63u << 20, 0x2000000, 0x7fffffff).ok());
  EXPECT_FALSE(place_initrd(mem, 100u << 20, 0, 0x7fffffff).ok());
  EXPECT_FALSE(place_initrd(mem, 0, 0, 0x7fffffff).ok());
  auto capped = place_initrd(mem, 0x1000, 0x100000, 0x1ffffff);
  ASSERT_TRUE(capped.ok());
  EXPECT_LE(*capped + 0x1000, 0x2000000u);
}

}  // namespace
}  // namespace ember
