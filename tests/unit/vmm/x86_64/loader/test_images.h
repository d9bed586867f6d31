// Builders for the crafted kernel images the loader tests use: tiny ELF64 executables, payloads
// compressed with each library the way the kernel build does it, and bzImage headers around them.
#pragma once

#define ZLIB_CONST
#include <asm/bootparam.h>
#include <bzlib.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "memory/guest_memory.h"
#include "vmm/x86_64/loader/decompress.h"

namespace ember::test_images {

using Bytes = std::vector<uint8_t>;

template <class T>
void put(Bytes& b, size_t offset, const T& value) {
  if (b.size() < offset + sizeof(T)) b.resize(offset + sizeof(T));
  std::memcpy(b.data() + offset, &value, sizeof(T));
}

template <class T>
T get(const Bytes& b, size_t offset) {
  T value;
  std::memcpy(&value, b.data() + offset, sizeof(T));
  return value;
}

// Compressible but not trivial: text-like runs with a counter mixed in.
inline Bytes sample_data(size_t size, uint32_t seed = 1) {
  Bytes b(size);
  uint32_t x = seed;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    b[i] = (i % 64 < 48) ? static_cast<uint8_t>("ember loads kernels "[i % 20]) : static_cast<uint8_t>(x >> 24);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// ELF

struct ElfSegmentSpec {
  uint64_t paddr;
  uint64_t vaddr;
  Bytes data;
  uint64_t memsz;  // >= data.size(); the rest is bss
};

enum class PvhNotePlacement { kNone, kSegment, kSectionOnly };

struct ElfSpec {
  uint16_t type = ET_EXEC;
  uint64_t entry = 0x1000000;
  std::vector<ElfSegmentSpec> segments;
  PvhNotePlacement pvh = PvhNotePlacement::kNone;
  uint64_t pvh_entry = 0x1000040;
  uint32_t pvh_desc_size = 4;  // 4 or 8 (anything else makes an invalid note)
};

inline void append_note(Bytes& notes, const char* name, uint32_t type, const Bytes& desc) {
  uint32_t namesz = static_cast<uint32_t>(std::strlen(name) + 1);
  uint32_t descsz = static_cast<uint32_t>(desc.size());
  size_t at = notes.size();
  put(notes, at, namesz);
  put(notes, at + 4, descsz);
  put(notes, at + 8, type);
  Bytes padded_name((namesz + 3) & ~3u, 0);
  std::memcpy(padded_name.data(), name, namesz - 1);
  notes.insert(notes.end(), padded_name.begin(), padded_name.end());
  Bytes padded_desc(desc);
  padded_desc.resize((descsz + 3) & ~3u, 0);
  notes.insert(notes.end(), padded_desc.begin(), padded_desc.end());
}

// A GNU build-id note first, so the walker has to step over a foreign note.
inline Bytes make_notes(const ElfSpec& spec) {
  Bytes notes;
  append_note(notes, "GNU", NT_GNU_BUILD_ID, Bytes(20, 0xab));
  Bytes desc(spec.pvh_desc_size, 0);
  std::memcpy(desc.data(), &spec.pvh_entry, std::min<size_t>(spec.pvh_desc_size, 8));
  append_note(notes, "Xen", 18 /* XEN_ELFNOTE_PHYS32_ENTRY */, desc);
  return notes;
}

// Layout: Ehdr | Phdrs | notes | segment data... | (section headers when the note is section-only).
// The file ends with the last byte something needs, so every shorter prefix is invalid.
inline Bytes build_elf(const ElfSpec& spec) {
  bool note_segment = spec.pvh == PvhNotePlacement::kSegment;
  size_t phnum = spec.segments.size() + (note_segment ? 1 : 0);
  Bytes notes = spec.pvh == PvhNotePlacement::kNone ? Bytes{} : make_notes(spec);
  size_t notes_off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
  size_t data_off = notes_off + notes.size();

  Bytes out(data_off, 0);
  if (!notes.empty()) std::memcpy(out.data() + notes_off, notes.data(), notes.size());
  std::vector<Elf64_Phdr> phdrs;
  for (const auto& s : spec.segments) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = PF_R | PF_X;
    ph.p_offset = out.size();
    ph.p_vaddr = s.vaddr;
    ph.p_paddr = s.paddr;
    ph.p_filesz = s.data.size();
    ph.p_memsz = s.memsz;
    ph.p_align = 0x1000;
    phdrs.push_back(ph);
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  if (note_segment) {
    Elf64_Phdr ph{};
    ph.p_type = PT_NOTE;
    ph.p_offset = notes_off;
    ph.p_filesz = notes.size();
    ph.p_align = 4;
    phdrs.push_back(ph);
  }

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = spec.type;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = spec.entry;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<uint16_t>(phnum);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  if (spec.pvh == PvhNotePlacement::kSectionOnly) {
    eh.e_shoff = out.size();
    eh.e_shnum = 2;  // the null section, then the notes
    Elf64_Shdr null_section{};
    Elf64_Shdr note_section{};
    note_section.sh_type = SHT_NOTE;
    note_section.sh_offset = notes_off;
    note_section.sh_size = notes.size();
    note_section.sh_addralign = 4;
    put(out, out.size(), null_section);
    put(out, out.size(), note_section);
  }
  put(out, 0, eh);
  for (size_t i = 0; i < phdrs.size(); ++i) put(out, sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr), phdrs[i]);
  return out;
}

inline size_t phdr_offset(size_t index) { return sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr); }

// A vmlinux-like kernel: text at 16 MiB linked at the kernel's virtual base, data with a bss tail.
inline ElfSpec vmlinux_like_spec(PvhNotePlacement pvh = PvhNotePlacement::kSegment) {
  ElfSpec spec;
  spec.entry = 0x1000000;
  spec.pvh = pvh;
  spec.pvh_entry = 0x1000040;
  spec.segments.push_back({0x1000000, 0xffffffff81000000ULL, sample_data(0x3000, 7), 0x3000});
  spec.segments.push_back({0x1400000, 0xffffffff81400000ULL, sample_data(0x1800, 9), 0x5000});
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Compression, the way the kernel build does it: the stream, then the 4-byte decompressed size.

inline void append_size(Bytes& out, size_t size) { put(out, out.size(), static_cast<uint32_t>(size)); }

inline Bytes gzip_compress(const Bytes& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = in.data();
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline Bytes xz_compress(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  // The kernel uses the x86 BCJ filter and CRC32 (scripts/xz_wrap.sh); the preset is enough here.
  EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(), &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

inline Bytes lzma_alone_compress(const Bytes& in) {
  lzma_options_lzma opt;
  EXPECT_FALSE(lzma_lzma_preset(&opt, 1));
  lzma_stream ls = LZMA_STREAM_INIT;
  EXPECT_EQ(lzma_alone_encoder(&ls, &opt), LZMA_OK);
  Bytes out(in.size() + in.size() / 2 + 1024);
  ls.next_in = in.data();
  ls.avail_in = in.size();
  ls.next_out = out.data();
  ls.avail_out = out.size();
  EXPECT_EQ(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
  out.resize(ls.total_out);
  lzma_end(&ls);
  return out;
}

inline Bytes bzip2_compress(const Bytes& in) {
  unsigned out_len = static_cast<unsigned>(in.size() + in.size() / 100 + 700);
  Bytes out(out_len);
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(reinterpret_cast<char*>(out.data()), &out_len,
                                     const_cast<char*>(reinterpret_cast<const char*>(in.data())),
                                     static_cast<unsigned>(in.size()), 9, 0, 0),
            BZ_OK);
  out.resize(out_len);
  return out;
}

// With a content checksum, as the zstd command line writes by default.
inline Bytes zstd_compress(const Bytes& in) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 9);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
  EXPECT_FALSE(ZSTD_isError(n));
  ZSTD_freeCCtx(cctx);
  out.resize(n);
  return out;
}

// LZ4 legacy frame (lz4 -l): magic 0x184C2102, then [u32 LE compressed size][block] per 8 MiB.
inline Bytes lz4_legacy_compress(const Bytes& in) {
  constexpr size_t kBlock = 8u << 20;
  Bytes out;
  put(out, 0, uint32_t{0x184C2102});
  for (size_t pos = 0; pos < in.size(); pos += kBlock) {
    int n_in = static_cast<int>(std::min(kBlock, in.size() - pos));
    Bytes block(static_cast<size_t>(LZ4_compressBound(n_in)));
    int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + pos), reinterpret_cast<char*>(block.data()),
                                 n_in, static_cast<int>(block.size()));
    EXPECT_GT(n, 0);
    put(out, out.size(), static_cast<uint32_t>(n));
    out.insert(out.end(), block.begin(), block.begin() + n);
  }
  return out;
}

// The compressed stream without the size trailer.
inline Bytes compress_stream(PayloadFormat format, const Bytes& in) {
  switch (format) {
    case PayloadFormat::kGzip: return gzip_compress(in);
    case PayloadFormat::kXz: return xz_compress(in);
    case PayloadFormat::kLzma: return lzma_alone_compress(in);
    case PayloadFormat::kBzip2: return bzip2_compress(in);
    case PayloadFormat::kZstd: return zstd_compress(in);
    case PayloadFormat::kLz4: return lz4_legacy_compress(in);
    default: ADD_FAILURE() << "no compressor for this format"; return {};
  }
}

// A payload as the kernel build makes it: the stream followed by the decompressed size.
inline Bytes kernel_payload(PayloadFormat format, const Bytes& in) {
  Bytes out = compress_stream(format, in);
  append_size(out, in.size());
  return out;
}

inline const PayloadFormat kHostFormats[] = {PayloadFormat::kGzip,  PayloadFormat::kXz,   PayloadFormat::kLzma,
                                             PayloadFormat::kBzip2, PayloadFormat::kZstd, PayloadFormat::kLz4};

// ---------------------------------------------------------------------------------------------
// bzImage

struct BzImageSpec {
  uint16_t version = 0x020f;
  uint8_t setup_sects = 4;
  uint8_t jump_displacement = 0x6a;  // header ends at 0x202 + this (0x26c: protocol 2.15)
  uint8_t loadflags = LOADED_HIGH;
  uint16_t xloadflags = XLF_KERNEL_64;
  bool relocatable = true;
  uint32_t kernel_alignment = 0x200000;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x200000;
  uint32_t cmdline_size = 2047;
  uint32_t initrd_addr_max = 0x7fffffff;
  size_t payload_rel = 0x300;  // where the payload starts inside the protected-mode kernel
  Bytes payload;
};

// The protected-mode kernel is a recognisable pattern up to the payload, which ends the file.
inline Bytes build_bzimage(const BzImageSpec& spec) {
  size_t setup_sects = spec.setup_sects == 0 ? 4 : spec.setup_sects;
  size_t kernel_off = (setup_sects + 1) * 512;
  Bytes out(kernel_off, 0);
  for (size_t i = 0; i < spec.payload_rel; ++i) out.push_back(static_cast<uint8_t>(0x40 + i % 61));
  out.insert(out.end(), spec.payload.begin(), spec.payload.end());
  size_t kernel_size = out.size() - kernel_off;

  out[0x1f1] = spec.setup_sects;
  put(out, 0x1f4, static_cast<uint32_t>((kernel_size + 15) / 16));  // syssize
  put(out, 0x1fe, uint16_t{0xaa55});
  out[0x200] = 0xeb;  // jmp short
  out[0x201] = spec.jump_displacement;
  put(out, 0x202, uint32_t{0x53726448});  // "HdrS"
  put(out, 0x206, spec.version);
  out[0x211] = spec.loadflags;
  put(out, 0x22c, spec.initrd_addr_max);
  put(out, 0x230, spec.kernel_alignment);
  out[0x234] = spec.relocatable ? 1 : 0;
  put(out, 0x236, spec.xloadflags);
  put(out, 0x238, spec.cmdline_size);
  put(out, 0x248, static_cast<uint32_t>(spec.payload_rel));
  put(out, 0x24c, static_cast<uint32_t>(spec.payload.size()));
  put(out, 0x258, spec.pref_address);
  put(out, 0x260, spec.init_size);
  return out;
}

// The decompressed payload of a real bzImage: a vmlinux with relocation data appended.
inline Bytes vmlinux_with_relocs(const ElfSpec& spec) {
  Bytes elf = build_elf(spec);
  Bytes relocs = sample_data(0x400, 3);
  elf.insert(elf.end(), relocs.begin(), relocs.end());
  return elf;
}

inline std::string format_name(PayloadFormat f) { return std::string(payload_format_name(f)); }

// Guest memory of `size` bytes at address 0, and reading bytes back out of it.
inline GuestMemory make_memory(uint64_t size) {
  auto mem = GuestMemory::create_anonymous({{0, size}});
  EXPECT_TRUE(mem.ok());
  return std::move(mem).value();
}

inline Bytes read_guest(const GuestMemory& mem, uint64_t addr, size_t len) {
  Bytes out(len);
  EXPECT_TRUE(mem.read(addr, out).ok());
  return out;
}

}  // namespace ember::test_images
