#include "vmm/x86_64/loader/elf_loader.h"

#include <elf.h>

#include <cstring>
#include <string>

#include "vmm/x86_64/layout.h"
#include "base/hex.h"

namespace ember {
namespace {


// Kernel virtual addresses start here (the x86-64 kernel text mapping, __START_KERNEL_map).
constexpr uint64_t kKernelVirtualBase = 0xffffffff80000000ULL;
// xen/include/public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY, the 32-bit PVH entry point.
constexpr uint32_t kXenElfNotePhys32Entry = 18;
// Far more than any kernel has; keeps a hostile header from making us walk millions of entries.
constexpr uint64_t kMaxProgramHeaders = 256;

// True when [offset, offset + size) lies inside a file of `file_size` bytes; overflow-safe.
bool in_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

template <class T>
T read_struct(std::span<const uint8_t> image, uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

uint64_t align_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }

// Walks one note area (ELF gABI "Note Section": namesz, descsz, type, then name and desc, each
// padded to the area's alignment) looking for Xen's PHYS32_ENTRY note.
Result<std::optional<uint64_t>> find_pvh_note(std::span<const uint8_t> notes, uint64_t align,
                                              const std::string& where) {
  std::optional<uint64_t> entry;
  uint64_t off = 0;
  // Fewer bytes than a note header at the end are padding between note sections.
  while (notes.size() - off >= sizeof(Elf64_Nhdr)) {
    auto nhdr = read_struct<Elf64_Nhdr>(notes, off);
    uint64_t name_off = off + sizeof(Elf64_Nhdr);
    uint64_t name_span = align_up(nhdr.n_namesz, align);
    if (!in_file(name_off, name_span, notes.size()))
      return make_error(where + ": note at offset " + to_hex(off) + " has a name running past its end");
    uint64_t desc_off = name_off + name_span;
    uint64_t desc_span = align_up(nhdr.n_descsz, align);
    if (!in_file(desc_off, nhdr.n_descsz, notes.size()))
      return make_error(where + ": note at offset " + to_hex(off) + " has a descriptor running past its end");
    // "Xen" with its NUL (namesz 4); tolerate a producer that leaves the NUL out.
    bool is_xen = (nhdr.n_namesz == 4 || nhdr.n_namesz == 3) && std::memcmp(notes.data() + name_off, "Xen", 3) == 0 &&
                  (nhdr.n_namesz == 3 || notes[name_off + 3] == 0);
    if (is_xen && nhdr.n_type == kXenElfNotePhys32Entry) {
      uint64_t value;
      if (nhdr.n_descsz == 4) {
        value = read_struct<uint32_t>(notes, desc_off);
      } else if (nhdr.n_descsz == 8) {
        value = read_struct<uint64_t>(notes, desc_off);
      } else {
        return make_error(where + ": Xen PHYS32_ENTRY note has a " + std::to_string(nhdr.n_descsz) +
                          "-byte descriptor (expected 4 or 8)");
      }
      if (value > UINT32_MAX)
        return make_error(where + ": Xen PHYS32_ENTRY " + to_hex(value) + " is not a 32-bit address");
      entry = value;
    }
    // The last note's padding may be cut short by the end of the area.
    if (!in_file(desc_off, desc_span, notes.size())) break;
    off = desc_off + desc_span;
  }
  return entry;
}

// Notes live in PT_NOTE segments; a file without any falls back to SHT_NOTE sections.
Result<std::optional<uint64_t>> find_pvh_entry(std::span<const uint8_t> image, const Elf64_Ehdr& eh) {
  bool saw_note_segment = false;
  std::optional<uint64_t> entry;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_struct<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_NOTE) continue;
    saw_note_segment = true;
    std::string where = "ELF note segment " + std::to_string(i);
    if (!in_file(ph.p_offset, ph.p_filesz, image.size()))
      return make_error(where + " (offset " + to_hex(ph.p_offset) + ", size " + to_hex(ph.p_filesz) +
                        ") lies outside the file");
    ASSIGN_OR_RETURN(auto found, find_pvh_note(image.subspan(ph.p_offset, ph.p_filesz), ph.p_align == 8 ? 8 : 4, where));
    if (found) entry = found;
  }
  if (saw_note_segment || eh.e_shoff == 0 || eh.e_shnum == 0) return entry;

  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    return make_error("ELF section header size is " + std::to_string(eh.e_shentsize) + ", expected " +
                      std::to_string(sizeof(Elf64_Shdr)));
  if (!in_file(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), image.size()))
    return make_error("ELF section header table (offset " + to_hex(eh.e_shoff) + ", " + std::to_string(eh.e_shnum) +
                      " entries) lies outside the file");
  for (uint64_t i = 0; i < eh.e_shnum; ++i) {
    auto sh = read_struct<Elf64_Shdr>(image, eh.e_shoff + i * sizeof(Elf64_Shdr));
    if (sh.sh_type != SHT_NOTE) continue;
    std::string where = "ELF note section " + std::to_string(i);
    if (!in_file(sh.sh_offset, sh.sh_size, image.size()))
      return make_error(where + " (offset " + to_hex(sh.sh_offset) + ", size " + to_hex(sh.sh_size) +
                        ") lies outside the file");
    ASSIGN_OR_RETURN(auto found,
                     find_pvh_note(image.subspan(sh.sh_offset, sh.sh_size), sh.sh_addralign == 8 ? 8 : 4, where));
    if (found) entry = found;
  }
  return entry;
}

Result<void> check_header(std::span<const uint8_t> image, const Elf64_Ehdr& eh) {
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return make_error("not an ELF file (bad magic)");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return make_error("ELF kernel is not 64-bit (EI_CLASS " + std::to_string(eh.e_ident[EI_CLASS]) + ")");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) return make_error("ELF kernel is not little-endian");
  if (eh.e_machine != EM_X86_64) return make_error("ELF kernel is not for x86-64 (e_machine " + std::to_string(eh.e_machine) + ")");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return make_error("ELF kernel is not an executable (e_type " + std::to_string(eh.e_type) + ")");
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return make_error("ELF program header size is " + std::to_string(eh.e_phentsize) + ", expected " +
                      std::to_string(sizeof(Elf64_Phdr)));
  if (eh.e_phnum == 0) return make_error("ELF kernel has no program headers");
  if (eh.e_phnum > kMaxProgramHeaders)
    return make_error("ELF kernel has " + std::to_string(eh.e_phnum) + " program headers (at most " +
                      std::to_string(kMaxProgramHeaders) + " accepted)");
  if (!in_file(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), image.size()))
    return make_error("ELF program header table (offset " + to_hex(eh.e_phoff) + ", " + std::to_string(eh.e_phnum) +
                      " entries) lies outside the " + std::to_string(image.size()) + "-byte file");
  return {};
}

Result<ElfLoadSegment> check_load_segment(std::span<const uint8_t> image, const Elf64_Phdr& ph, uint64_t index) {
  std::string where = "ELF segment " + std::to_string(index);
  if (ph.p_filesz > ph.p_memsz)
    return make_error(where + " has more file bytes (" + to_hex(ph.p_filesz) + ") than memory bytes (" +
                      to_hex(ph.p_memsz) + ")");
  if (!in_file(ph.p_offset, ph.p_filesz, image.size()))
    return make_error(where + " (offset " + to_hex(ph.p_offset) + ", size " + to_hex(ph.p_filesz) +
                      ") lies outside the " + std::to_string(image.size()) + "-byte file");
  if (ph.p_memsz > UINT64_MAX - ph.p_paddr)
    return make_error(where + " at " + to_hex(ph.p_paddr) + " with size " + to_hex(ph.p_memsz) +
                      " wraps around the address space");
  if (ph.p_paddr < layout::kHighMemStart)
    return make_error(where + " is at " + to_hex(ph.p_paddr) + ", below 1 MiB where the VMM keeps its boot data");
  return ElfLoadSegment{ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz};
}

bool segment_contains(const ElfLoadSegment& s, uint64_t addr) {
  return addr >= s.guest_addr && addr - s.guest_addr < s.mem_size;
}

// vmlinux's e_entry is already physical (its linker script uses phys_startup_64), but an image
// linked with a virtual entry is translated through the segment that maps it.
Result<uint64_t> physical_entry(std::span<const uint8_t> image, const Elf64_Ehdr& eh) {
  if (eh.e_entry < kKernelVirtualBase) return eh.e_entry;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_struct<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || eh.e_entry < ph.p_vaddr || eh.e_entry - ph.p_vaddr >= ph.p_memsz) continue;
    return eh.e_entry - ph.p_vaddr + ph.p_paddr;
  }
  return make_error("ELF entry point " + to_hex(eh.e_entry) + " is a virtual address outside every segment");
}

}  // namespace

bool has_elf_magic(std::span<const uint8_t> image) {
  return image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfKernel> parse_elf_kernel(std::span<const uint8_t> image) {
  if (image.size() < sizeof(Elf64_Ehdr))
    return make_error("ELF header truncated: the file has " + std::to_string(image.size()) + " bytes, the header needs " +
                      std::to_string(sizeof(Elf64_Ehdr)));
  auto eh = read_struct<Elf64_Ehdr>(image, 0);
  TRY(check_header(image, eh));

  ElfKernel kernel;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_struct<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    ASSIGN_OR_RETURN(ElfLoadSegment seg, check_load_segment(image, ph, i));
    uint64_t end = seg.guest_addr + seg.mem_size;
    if (kernel.segments.empty() || seg.guest_addr < kernel.load_start) kernel.load_start = seg.guest_addr;
    if (kernel.segments.empty() || end > kernel.load_end) kernel.load_end = end;
    kernel.segments.push_back(seg);
  }
  if (kernel.segments.empty()) return make_error("ELF kernel has no loadable segments");

  ASSIGN_OR_RETURN(kernel.entry, physical_entry(image, eh));
  auto loaded = [&](uint64_t addr) {
    for (const auto& s : kernel.segments)
      if (segment_contains(s, addr)) return true;
    return false;
  };
  if (!loaded(kernel.entry))
    return make_error("ELF entry point " + to_hex(kernel.entry) + " is outside every loaded segment");
  ASSIGN_OR_RETURN(kernel.pvh_entry, find_pvh_entry(image, eh));
  if (kernel.pvh_entry && !loaded(*kernel.pvh_entry))
    return make_error("PVH entry point " + to_hex(*kernel.pvh_entry) + " is outside every loaded segment");
  return kernel;
}

Result<ElfKernel> load_elf_kernel(const GuestMemory& mem, std::span<const uint8_t> image) {
  ASSIGN_OR_RETURN(ElfKernel kernel, parse_elf_kernel(image));
  if (kernel.load_end > mem.end_addr())
    return make_error("kernel needs guest memory up to " + to_hex(kernel.load_end) + ", VM has " +
                      to_hex(mem.end_addr()));
  for (size_t i = 0; i < kernel.segments.size(); ++i) {
    const auto& s = kernel.segments[i];
    if (!mem.is_valid_range(s.guest_addr, s.mem_size))
      return make_error("ELF segment at [" + to_hex(s.guest_addr) + ", " + to_hex(s.guest_addr + s.mem_size) +
                        ") is not inside guest memory (it crosses a hole)");
  }
  for (const auto& s : kernel.segments) {
    TRY(mem.write(s.guest_addr, image.subspan(s.file_offset, s.file_size)));
    // Guest memory may hold an earlier image (reboot), so the bss is zeroed explicitly.
    TRY(mem.fill(s.guest_addr + s.file_size, 0, s.mem_size - s.file_size));
  }
  return kernel;
}

}  // namespace ember
