#include "vmm/x86_64/boot_cpu.h"

#include <array>
#include <cstring>

#include "vmm/x86_64/layout.h"

namespace ember {
namespace {

// Control register and EFER bits (Intel SDM vol. 3A, 2.5 and 2.2.1).
constexpr uint64_t kCr0Pe = 1u << 0;
constexpr uint64_t kCr0Et = 1u << 4;
constexpr uint64_t kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kEferLme = 1u << 8;
constexpr uint64_t kEferLma = 1u << 10;

// Page table entry bits (SDM vol. 3A, 4.5).
constexpr uint64_t kPtePresent = 1u << 0;
constexpr uint64_t kPteWrite = 1u << 1;
constexpr uint64_t kPtePageSize = 1u << 7;

constexpr uint16_t kCodeSelector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
constexpr uint16_t kTssSelector = 0x20;

// Access/flags words: 0xa09b is a present 64-bit code segment, 0xc09b a 32-bit one,
// 0xc093 a flat read/write data segment, 0x808b a busy 32-bit TSS.
constexpr uint16_t kCode64Flags = 0xa09b;
constexpr uint16_t kCode32Flags = 0xc09b;
constexpr uint16_t kDataFlags = 0xc093;
constexpr uint16_t kTssFlags = 0x808b;

std::array<uint64_t, 5> gdt_for(EntryMode mode) {
  return {0, 0, gdt_entry(mode == EntryMode::kLong64 ? kCode64Flags : kCode32Flags, 0, 0xfffff),
          gdt_entry(kDataFlags, 0, 0xfffff), gdt_entry(kTssFlags, 0, 0xfffff)};
}

kvm_segment segment_from(uint64_t entry, uint16_t selector) {
  kvm_segment s{};
  s.base = ((entry >> 32) & 0xff000000) | ((entry >> 16) & 0x00ffffff);
  uint32_t limit = static_cast<uint32_t>(((entry >> 32) & 0x000f0000) | (entry & 0x0000ffff));
  s.g = static_cast<uint8_t>((entry >> 55) & 1);
  s.limit = s.g ? (limit << 12) | 0xfff : limit;
  s.selector = selector;
  s.type = static_cast<uint8_t>((entry >> 40) & 0xf);
  s.present = static_cast<uint8_t>((entry >> 47) & 1);
  s.dpl = static_cast<uint8_t>((entry >> 45) & 3);
  s.db = static_cast<uint8_t>((entry >> 54) & 1);
  s.s = static_cast<uint8_t>((entry >> 44) & 1);
  s.l = static_cast<uint8_t>((entry >> 53) & 1);
  s.avl = static_cast<uint8_t>((entry >> 52) & 1);
  s.unusable = s.present ? 0 : 1;
  return s;
}

}  // namespace

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit) {
  // SDM vol. 3A, 3.4.5 segment descriptor layout.
  return ((static_cast<uint64_t>(base) & 0xff000000u) << 32) |
         ((static_cast<uint64_t>(flags) & 0x0000f0ffu) << 40) |
         ((static_cast<uint64_t>(limit) & 0x000f0000u) << 32) |
         ((static_cast<uint64_t>(base) & 0x00ffffffu) << 16) |
         (static_cast<uint64_t>(limit) & 0x0000ffffu);
}

Result<void> write_boot_tables(const GuestMemory& mem, EntryMode mode) {
  auto gdt = gdt_for(mode);
  TRY(mem.write_obj(layout::kGdtAddr, gdt));
  TRY(mem.write_obj<uint64_t>(layout::kIdtAddr, 0));
  if (mode != EntryMode::kLong64) return {};

  // PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 512 x 2 MiB pages.
  TRY(mem.fill(layout::kPml4Addr, 0, 0x1000));
  TRY(mem.fill(layout::kPdptAddr, 0, 0x1000));
  TRY(mem.write_obj<uint64_t>(layout::kPml4Addr, layout::kPdptAddr | kPtePresent | kPteWrite));
  for (uint64_t gib = 0; gib < 4; ++gib) {
    uint64_t pd = layout::kPdAddr + gib * 0x1000;
    TRY(mem.write_obj<uint64_t>(layout::kPdptAddr + gib * 8, pd | kPtePresent | kPteWrite));
    std::array<uint64_t, 512> entries{};
    for (uint64_t i = 0; i < 512; ++i)
      entries[i] = ((gib << 30) + (i << 21)) | kPtePresent | kPteWrite | kPtePageSize;
    TRY(mem.write_obj(pd, entries));
  }
  return {};
}

kvm_sregs boot_sregs(const kvm_sregs& current, EntryMode mode) {
  kvm_sregs s = current;
  auto gdt = gdt_for(mode);
  s.gdt.base = layout::kGdtAddr;
  s.gdt.limit = sizeof(gdt) - 1;
  s.idt.base = layout::kIdtAddr;
  s.idt.limit = sizeof(uint64_t) - 1;
  s.cs = segment_from(gdt[kCodeSelector / 8], kCodeSelector);
  kvm_segment data = segment_from(gdt[kDataSelector / 8], kDataSelector);
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = segment_from(gdt[kTssSelector / 8], kTssSelector);

  s.cr0 = (s.cr0 | kCr0Pe | kCr0Et) & ~kCr0Pg;
  s.cr4 = 0;
  s.efer = 0;
  if (mode == EntryMode::kLong64) {
    s.cr3 = layout::kPml4Addr;
    s.cr4 |= kCr4Pae;
    s.cr0 |= kCr0Pg;
    s.efer |= kEferLme | kEferLma;
  } else {
    s.cr3 = 0;
  }
  return s;
}

kvm_regs boot_regs(EntryMode mode, uint64_t entry, uint64_t boot_info) {
  kvm_regs r{};
  r.rflags = 0x2;  // bit 1 is reserved and always set
  r.rip = entry;
  if (mode == EntryMode::kLong64) {
    r.rsp = layout::kBootStackPointer;
    r.rbp = layout::kBootStackPointer;
    r.rsi = boot_info;
  } else {
    r.rbx = boot_info;
  }
  return r;
}

kvm_fpu boot_fpu() {
  kvm_fpu f{};
  f.fcw = 0x37f;
  f.mxcsr = 0x1f80;
  return f;
}

void set_lint_vectors(kvm_lapic_state* lapic) {
  // LVT LINT0 at 0x350 and LINT1 at 0x360; delivery mode in bits 8-10 (SDM vol. 3A, 11.5.1).
  constexpr size_t kLint0 = 0x350;
  constexpr size_t kLint1 = 0x360;
  constexpr uint32_t kModeMask = 0x700;
  constexpr uint32_t kModeExtInt = 0x700;
  constexpr uint32_t kModeNmi = 0x400;
  auto update = [&](size_t off, uint32_t mode) {
    uint32_t v;
    std::memcpy(&v, lapic->regs + off, 4);
    v = (v & ~kModeMask) | mode;
    std::memcpy(lapic->regs + off, &v, 4);
  };
  update(kLint0, kModeExtInt);
  update(kLint1, kModeNmi);
}

}  // namespace ember
