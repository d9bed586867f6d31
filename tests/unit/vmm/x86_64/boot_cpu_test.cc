#include "vmm/x86_64/boot_cpu.h"

#include <gtest/gtest.h>

#include "vmm/x86_64/layout.h"
#include "vmm/x86_64/memory_map.h"

namespace ember {
namespace {

TEST(BootCpu, GdtEntriesMatchTheSdmEncoding) {
  EXPECT_EQ(gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  EXPECT_EQ(gdt_entry(0x808b, 0, 0xfffff), 0x008f8b000000ffffull);
}

TEST(BootCpu, LongModeStateUsesBootProtocolSelectorsAndPaging) {
  kvm_sregs s = boot_sregs(kvm_sregs{}, EntryMode::kLong64);
  EXPECT_EQ(s.cs.selector, 0x10);
  EXPECT_EQ(s.ds.selector, 0x18);
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cr3, layout::kPml4Addr);
  EXPECT_TRUE(s.cr0 & (1u << 31));
  EXPECT_TRUE(s.cr4 & (1u << 5));
  EXPECT_EQ(s.efer & 0x500, 0x500u);
  kvm_regs r = boot_regs(EntryMode::kLong64, 0x1000000, layout::kZeroPageAddr);
  EXPECT_EQ(r.rip, 0x1000000u);
  EXPECT_EQ(r.rsi, layout::kZeroPageAddr);
  EXPECT_EQ(r.rflags, 2u);
}

TEST(BootCpu, PvhStateIsFlatProtectedModeWithoutPaging) {
  kvm_sregs s = boot_sregs(kvm_sregs{}, EntryMode::kProtected32);
  EXPECT_EQ(s.cs.l, 0);
  EXPECT_EQ(s.cs.db, 1);
  EXPECT_EQ(s.cs.limit, 0xffffffffu);
  EXPECT_EQ(s.cs.base, 0u);
  EXPECT_EQ(s.ds.base, 0u);
  EXPECT_EQ(s.ss.limit, 0xffffffffu);
  EXPECT_TRUE(s.cr0 & 1);
  EXPECT_FALSE(s.cr0 & (1u << 31));
  EXPECT_EQ(s.efer, 0u);
  kvm_regs r = boot_regs(EntryMode::kProtected32, 0x1000200, layout::kPvhStartInfoAddr);
  EXPECT_EQ(r.rbx, layout::kPvhStartInfoAddr);
}

TEST(BootCpu, IdentityMapCoversFourGiB) {
  auto mem = GuestMemory::create_anonymous(ram_regions_for(64 << 20));
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(write_boot_tables(*mem, EntryMode::kLong64).ok());
  EXPECT_EQ(*mem->read_obj<uint64_t>(layout::kPml4Addr) & ~0xfffull, layout::kPdptAddr);
  for (uint64_t gib = 0; gib < 4; ++gib) {
    uint64_t pd = *mem->read_obj<uint64_t>(layout::kPdptAddr + gib * 8) & ~0xfffull;
    uint64_t last = *mem->read_obj<uint64_t>(pd + 511 * 8);
    EXPECT_EQ(last & ~0xfffull, (gib << 30) + (511ull << 21));
    EXPECT_EQ(last & 0x83, 0x83u);
  }
}

TEST(BootCpu, LintVectors) {
  kvm_lapic_state l{};
  set_lint_vectors(&l);
  uint32_t lint0, lint1;
  std::memcpy(&lint0, l.regs + 0x350, 4);
  std::memcpy(&lint1, l.regs + 0x360, 4);
  EXPECT_EQ(lint0 & 0x700, 0x700u);
  EXPECT_EQ(lint1 & 0x700, 0x400u);
}

}  // namespace
}  // namespace ember
