#include "vmm/x86_64/loader/kernel_loader.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "base/log.h"
#include "vmm/x86_64/layout.h"
#include "vmm/x86_64/loader/bzimage.h"
#include "vmm/x86_64/loader/decompress.h"
#include "vmm/x86_64/loader/elf_loader.h"
#include "base/hex.h"

namespace ember {
namespace {


// boot.rst, "64-bit Boot Protocol": the 64-bit entry is 0x200 past the protected-mode kernel's start.
constexpr uint64_t kLinux64EntryOffset = 0x200;

std::string protocol_text(const BzImage& bz) {
  return "bzImage (boot protocol " + std::to_string(bz.protocol_version >> 8) + "." +
         std::to_string(bz.protocol_version & 0xff) + ")";
}

Result<void> check_fits(const GuestMemory& mem, GuestAddress start, GuestAddress end) {
  if (end > mem.end_addr())
    return make_error("kernel needs guest memory up to " + to_hex(end) + ", VM has " + to_hex(mem.end_addr()));
  if (!mem.is_valid_range(start, end - start))
    return make_error("kernel range [" + to_hex(start) + ", " + to_hex(end) + ") is not inside guest memory");
  return {};
}

Result<LoadedKernel> load_elf(const GuestMemory& mem, std::span<const uint8_t> image) {
  ASSIGN_OR_RETURN(ElfKernel elf, load_elf_kernel(mem, image));
  LoadedKernel k;
  k.image_end = elf.load_end;
  if (elf.pvh_entry) {
    k.protocol = BootProtocol::kPvh;
    k.entry = *elf.pvh_entry;
    k.description = "ELF vmlinux, PVH entry " + to_hex(k.entry);
  } else {
    k.protocol = BootProtocol::kLinux64;
    k.entry = elf.entry;
    k.description = "ELF vmlinux without a PVH note, 64-bit entry " + to_hex(k.entry);
  }
  return k;
}

// Classic boot: the protected-mode kernel is copied as it is and decompresses itself in the guest.
Result<LoadedKernel> load_bzimage_in_guest_mode(const GuestMemory& mem, std::span<const uint8_t> image,
                                                const BzImage& bz, PayloadFormat format) {
  std::span<const uint8_t> kernel = bzimage_protected_mode_kernel(image, bz);
  if (kernel.size() <= kLinux64EntryOffset)
    return make_error("bzImage protected-mode kernel is " + std::to_string(kernel.size()) +
                      " bytes, too small to hold the 64-bit entry at offset 0x200");
  // A relocatable kernel goes where it prefers, as boot loaders do; otherwise the traditional 1 MiB.
  bool aligned = bz.kernel_alignment != 0 && (bz.kernel_alignment & (bz.kernel_alignment - 1)) == 0 &&
                 bz.pref_address % bz.kernel_alignment == 0;
  GuestAddress load = layout::kHighMemStart;
  if (bz.relocatable && aligned && bz.pref_address >= layout::kHighMemStart && bz.pref_address <= mem.end_addr())
    load = bz.pref_address;
  // The 64-bit decompressor moves the kernel to at least LOAD_PHYSICAL_ADDR (pref_address) and
  // needs init_size bytes from there (arch/x86/boot/compressed/head_64.S), so reserve up to that.
  uint64_t run_start = std::max(load, bz.pref_address);
  uint64_t run_end = run_start > UINT64_MAX - bz.init_size ? UINT64_MAX : run_start + bz.init_size;
  GuestAddress image_end = std::max(load + kernel.size(), run_end);
  TRY(check_fits(mem, load, image_end));
  TRY(mem.write(load, kernel));

  LoadedKernel k;
  k.protocol = BootProtocol::kLinux64;
  k.entry = load + kLinux64EntryOffset;
  k.image_end = image_end;
  k.setup_header = bz.setup_header;
  k.description = protocol_text(bz) + ", loaded at " + to_hex(load) + " to decompress its " +
                  std::string(payload_format_name(format)) + " payload in the guest, 64-bit entry " + to_hex(k.entry);
  return k;
}

Result<LoadedKernel> load_bzimage_in_host_mode(const GuestMemory& mem, std::span<const uint8_t> image,
                                               const BzImage& bz) {
  std::string format;
  auto vmlinux = decompress_kernel_payload(bzimage_payload(image, bz), kMaxDecompressedKernelSize, &format);
  if (!vmlinux) return with_context("bzImage payload", vmlinux.error());
  // The payload is vmlinux (stripped) with its relocation table appended after the ELF; the
  // relocations only matter to a kernel that moves itself, and this one runs where it is linked.
  if (!has_elf_magic(*vmlinux)) return make_error("bzImage payload decompressed to something that is not an ELF vmlinux");
  auto elf = load_elf_kernel(mem, *vmlinux);
  if (!elf) return with_context("vmlinux inside the bzImage", elf.error());

  LoadedKernel k;
  k.protocol = BootProtocol::kLinux64;
  k.entry = elf->entry;
  k.image_end = elf->load_end;
  k.setup_header = bz.setup_header;
  k.description = protocol_text(bz) + ", " + format + " payload decompressed on the host, 64-bit entry " + to_hex(k.entry);
  return k;
}

Result<LoadedKernel> load_bzimage(const GuestMemory& mem, std::span<const uint8_t> image, BzImageMode mode) {
  ASSIGN_OR_RETURN(BzImage bz, parse_bzimage(image));
  PayloadFormat format = detect_payload_format(bzimage_payload(image, bz));
  if (mode == BzImageMode::kAuto && !can_decompress_on_host(format)) {
    log_warn("kernel payload format " + std::string(payload_format_name(format)) +
             " cannot be decompressed on the host; the kernel will decompress itself in the guest");
    mode = BzImageMode::kGuest;
  }
  if (mode == BzImageMode::kGuest) return load_bzimage_in_guest_mode(mem, image, bz, format);
  return load_bzimage_in_host_mode(mem, image, bz);
}

}  // namespace

Result<LoadedKernel> load_kernel(const GuestMemory& mem, std::span<const uint8_t> image, BzImageMode mode) {
  // Every error below names its format ("ELF ...", "bzImage ..."), so no context is added here.
  if (has_elf_magic(image)) return load_elf(mem, image);
  if (has_bzimage_signature(image)) return load_bzimage(mem, image, mode);
  return make_error("kernel image is neither an ELF vmlinux nor a bzImage (" + std::to_string(image.size()) + " bytes)");
}

}  // namespace ember
