#include "vmm/x86_64/loader/elf_loader.h"

#include <gtest/gtest.h>

#include "tests/unit/vmm/x86_64/loader/test_images.h"

namespace ember {
namespace {

using namespace test_images;  // NOLINT(google-build-using-namespace)

void expect_error(const Result<ElfKernel>& r, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

TEST(ElfLoader, LoadsSegmentsAndZeroesBss) {
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kNone);
  Bytes elf = build_elf(spec);
  GuestMemory mem = make_memory(32 << 20);
  ASSERT_TRUE(mem.fill(0x1400000, 0xcc, 0x5000).ok());  // stale bytes where the bss goes

  auto k = load_elf_kernel(mem, elf);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->entry, 0x1000000u);
  EXPECT_FALSE(k->pvh_entry.has_value());
  EXPECT_EQ(k->load_start, 0x1000000u);
  EXPECT_EQ(k->load_end, 0x1405000u);
  ASSERT_EQ(k->segments.size(), 2u);
  EXPECT_EQ(read_guest(mem, 0x1000000, 0x3000), spec.segments[0].data);
  EXPECT_EQ(read_guest(mem, 0x1400000, 0x1800), spec.segments[1].data);
  EXPECT_EQ(read_guest(mem, 0x1401800, 0x3800), Bytes(0x3800, 0));
}

TEST(ElfLoader, FindsPvhNoteInNoteSegment) {
  Bytes elf = build_elf(vmlinux_like_spec(PvhNotePlacement::kSegment));
  auto k = parse_elf_kernel(elf);
  ASSERT_TRUE(k.ok()) << k.error().message;
  ASSERT_TRUE(k->pvh_entry.has_value());
  EXPECT_EQ(*k->pvh_entry, 0x1000040u);
}

TEST(ElfLoader, FindsPvhNoteInSectionsWhenThereIsNoNoteSegment) {
  Bytes elf = build_elf(vmlinux_like_spec(PvhNotePlacement::kSectionOnly));
  auto k = parse_elf_kernel(elf);
  ASSERT_TRUE(k.ok()) << k.error().message;
  ASSERT_TRUE(k->pvh_entry.has_value());
  EXPECT_EQ(*k->pvh_entry, 0x1000040u);
}

TEST(ElfLoader, AcceptsA64BitPvhDescriptor) {
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  spec.pvh_desc_size = 8;
  spec.pvh_entry = 0x1000080;
  auto k = parse_elf_kernel(build_elf(spec));
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->pvh_entry.value_or(0), 0x1000080u);
}

TEST(ElfLoader, RejectsBadPvhNotes) {
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  spec.pvh_desc_size = 2;
  expect_error(parse_elf_kernel(build_elf(spec)), "2-byte descriptor");

  spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  spec.pvh_desc_size = 8;
  spec.pvh_entry = 0x100000000ULL;
  expect_error(parse_elf_kernel(build_elf(spec)), "not a 32-bit address");

  spec = vmlinux_like_spec(PvhNotePlacement::kSegment);
  spec.pvh_entry = 0x2000000;  // not in any segment
  expect_error(parse_elf_kernel(build_elf(spec)), "PVH entry point 0x2000000 is outside");
}

TEST(ElfLoader, RejectsNotesRunningPastTheirSegment) {
  Bytes elf = build_elf(vmlinux_like_spec(PvhNotePlacement::kSegment));
  auto note_ph = get<Elf64_Phdr>(elf, phdr_offset(2));
  ASSERT_EQ(note_ph.p_type, uint32_t{PT_NOTE});
  Bytes bad = elf;
  put(bad, note_ph.p_offset, uint32_t{0xfffffff0});  // namesz of the first note
  expect_error(parse_elf_kernel(bad), "name running past its end");
  bad = elf;
  put(bad, note_ph.p_offset + 4, uint32_t{0xfffffffd});  // descsz
  expect_error(parse_elf_kernel(bad), "descriptor running past its end");
  bad = elf;
  auto ph = note_ph;
  ph.p_offset = 0xfffffffffffffff0ULL;
  put(bad, phdr_offset(2), ph);
  expect_error(parse_elf_kernel(bad), "note segment 2");
}

TEST(ElfLoader, TranslatesAVirtualEntryThroughItsSegment) {
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kNone);
  spec.entry = 0xffffffff81000100ULL;
  auto k = parse_elf_kernel(build_elf(spec));
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->entry, 0x1000100u);

  spec.entry = 0xffffffff90000000ULL;
  expect_error(parse_elf_kernel(build_elf(spec)), "virtual address outside every segment");
  spec.entry = 0x3000000;
  expect_error(parse_elf_kernel(build_elf(spec)), "entry point 0x3000000 is outside");
}

TEST(ElfLoader, AcceptsEtDyn) {
  ElfSpec spec = vmlinux_like_spec(PvhNotePlacement::kNone);
  spec.type = ET_DYN;
  EXPECT_TRUE(parse_elf_kernel(build_elf(spec)).ok());
}

TEST(ElfLoader, EveryTruncationIsAnError) {
  for (auto placement : {PvhNotePlacement::kNone, PvhNotePlacement::kSegment, PvhNotePlacement::kSectionOnly}) {
    Bytes elf = build_elf(vmlinux_like_spec(placement));
    ASSERT_TRUE(parse_elf_kernel(elf).ok());
    for (size_t len = 0; len < elf.size(); ++len) {
      auto r = parse_elf_kernel(std::span<const uint8_t>(elf.data(), len));
      ASSERT_FALSE(r.ok()) << "length " << len << " of " << elf.size();
    }
  }
  auto r = parse_elf_kernel(Bytes(10, 0));
  expect_error(r, "ELF header truncated");
}

TEST(ElfLoader, RejectsBadIdentAndHeader) {
  const Bytes good = build_elf(vmlinux_like_spec(PvhNotePlacement::kNone));
  Bytes b = good;
  b[1] = 'X';
  expect_error(parse_elf_kernel(b), "bad magic");
  b = good;
  b[EI_CLASS] = ELFCLASS32;
  expect_error(parse_elf_kernel(b), "not 64-bit");
  b = good;
  b[EI_DATA] = ELFDATA2MSB;
  expect_error(parse_elf_kernel(b), "not little-endian");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_machine), uint16_t{EM_AARCH64});
  expect_error(parse_elf_kernel(b), "not for x86-64");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_type), uint16_t{ET_REL});
  expect_error(parse_elf_kernel(b), "not an executable");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_phentsize), uint16_t{32});
  expect_error(parse_elf_kernel(b), "program header size is 32");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_phnum), uint16_t{0});
  expect_error(parse_elf_kernel(b), "no program headers");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_phnum), uint16_t{0xffff});
  expect_error(parse_elf_kernel(b), "65535 program headers");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_phoff), uint64_t{good.size() - 100});
  expect_error(parse_elf_kernel(b), "program header table");
  b = good;
  put(b, offsetof(Elf64_Ehdr, e_phoff), uint64_t{0xffffffffffffffc0ULL});  // offset + size wraps
  expect_error(parse_elf_kernel(b), "program header table");
}

TEST(ElfLoader, RejectsBadSegments) {
  const Bytes good = build_elf(vmlinux_like_spec(PvhNotePlacement::kNone));
  const auto ph0 = get<Elf64_Phdr>(good, phdr_offset(0));

  Bytes b = good;
  auto ph = ph0;
  ph.p_filesz = ph.p_memsz + 1;
  put(b, phdr_offset(0), ph);
  expect_error(parse_elf_kernel(b), "more file bytes");

  b = good;
  ph = ph0;
  ph.p_offset = good.size() - 16;
  put(b, phdr_offset(0), ph);
  expect_error(parse_elf_kernel(b), "lies outside the");

  b = good;
  ph = ph0;
  ph.p_offset = 0xfffffffffffff000ULL;  // offset + filesz wraps
  put(b, phdr_offset(0), ph);
  expect_error(parse_elf_kernel(b), "lies outside the");

  b = good;
  ph = ph0;
  ph.p_paddr = 0xfffffffffffff000ULL;  // paddr + memsz wraps
  put(b, phdr_offset(0), ph);
  expect_error(parse_elf_kernel(b), "wraps around");

  b = good;
  ph = ph0;
  ph.p_paddr = 0x90000;
  put(b, phdr_offset(0), ph);
  expect_error(parse_elf_kernel(b), "below 1 MiB");

  b = good;
  for (size_t i = 0; i < 2; ++i) {
    auto p = get<Elf64_Phdr>(b, phdr_offset(i));
    p.p_type = PT_NULL;
    put(b, phdr_offset(i), p);
  }
  expect_error(parse_elf_kernel(b), "no loadable segments");
}

TEST(ElfLoader, MemoryTooSmallNamesWhatIsNeeded) {
  Bytes elf = build_elf(vmlinux_like_spec(PvhNotePlacement::kNone));
  GuestMemory mem = make_memory(0x1100000);
  auto r = load_elf_kernel(mem, elf);
  expect_error(r, "kernel needs guest memory up to 0x1405000, VM has 0x1100000");
  // Nothing was written, though the first segment would have fitted.
  EXPECT_EQ(read_guest(mem, 0x1000000, 0x3000), Bytes(0x3000, 0));
}

TEST(ElfLoader, SegmentAcrossAHoleIsAnError) {
  auto mem = GuestMemory::create_anonymous({{0, 0x1002000}, {0x1100000, 0x1000000}});
  ASSERT_TRUE(mem.ok());
  auto r = load_elf_kernel(*mem, build_elf(vmlinux_like_spec(PvhNotePlacement::kNone)));
  expect_error(r, "not inside guest memory");
}

}  // namespace
}  // namespace ember
