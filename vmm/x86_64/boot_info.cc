#include "vmm/x86_64/boot_info.h"

#include <asm/bootparam.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "vmm/x86_64/layout.h"

namespace ember {
namespace {

// boot.rst: "type_of_loader" 0xff means a loader with no assigned id.
constexpr uint8_t kLoaderTypeUndefined = 0xff;
constexpr uint16_t kBootFlag = 0xaa55;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
constexpr uint32_t kMinKernelAlignment = 0x01000000;

// start_info.h, version 1.
constexpr uint32_t kPvhMagic = 0x336ec578;
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);
struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
constexpr uint64_t kPvhModlistAddr = layout::kPvhStartInfoAddr + 0x40;
constexpr uint64_t kPvhMemmapAddr = layout::kPvhStartInfoAddr + 0x80;
constexpr uint64_t kPvhMemmapMaxEntries = (layout::kZeroPageAddr - kPvhMemmapAddr) / sizeof(HvmMemmapEntry);

}  // namespace

Result<uint64_t> write_zero_page(const GuestMemory& mem, const BootInfo& info) {
  boot_params params{};
  if (!info.setup_header.empty()) {
    const size_t max = sizeof(params.hdr);
    std::memcpy(&params.hdr, info.setup_header.data(), std::min(info.setup_header.size(), max));
  } else {
    params.hdr.boot_flag = kBootFlag;
    params.hdr.header = kHdrSMagic;
    params.hdr.kernel_alignment = kMinKernelAlignment;
  }
  params.hdr.type_of_loader = kLoaderTypeUndefined;
  params.hdr.loadflags |= LOADED_HIGH;
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(info.cmdline_addr);
  params.hdr.cmdline_size = static_cast<uint32_t>(info.cmdline_size);
  params.ext_cmd_line_ptr = static_cast<uint32_t>(info.cmdline_addr >> 32);
  if (info.initrd) {
    params.hdr.ramdisk_image = static_cast<uint32_t>(info.initrd->addr);
    params.hdr.ramdisk_size = static_cast<uint32_t>(info.initrd->size);
    params.ext_ramdisk_image = static_cast<uint32_t>(info.initrd->addr >> 32);
    params.ext_ramdisk_size = static_cast<uint32_t>(info.initrd->size >> 32);
  }
  params.acpi_rsdp_addr = info.rsdp_addr;
  if (info.memory_map.size() > E820_MAX_ENTRIES_ZEROPAGE)
    return make_error("memory map has too many entries for boot_params");
  for (size_t i = 0; i < info.memory_map.size(); ++i) {
    params.e820_table[i].addr = info.memory_map[i].addr;
    params.e820_table[i].size = info.memory_map[i].size;
    params.e820_table[i].type = static_cast<uint32_t>(info.memory_map[i].type);
  }
  params.e820_entries = static_cast<uint8_t>(info.memory_map.size());
  TRY(mem.write_obj(layout::kZeroPageAddr, params));
  return layout::kZeroPageAddr;
}

Result<uint64_t> write_pvh_start_info(const GuestMemory& mem, const BootInfo& info) {
  if (info.memory_map.size() > kPvhMemmapMaxEntries)
    return make_error("memory map has too many entries for hvm_start_info");
  HvmStartInfo start{};
  start.magic = kPvhMagic;
  start.version = 1;
  start.cmdline_paddr = info.cmdline_addr;
  start.rsdp_paddr = info.rsdp_addr;
  start.memmap_paddr = kPvhMemmapAddr;
  start.memmap_entries = static_cast<uint32_t>(info.memory_map.size());
  if (info.initrd) {
    HvmModlistEntry mod{};
    mod.paddr = info.initrd->addr;
    mod.size = info.initrd->size;
    TRY(mem.write_obj(kPvhModlistAddr, mod));
    start.nr_modules = 1;
    start.modlist_paddr = kPvhModlistAddr;
  }
  for (size_t i = 0; i < info.memory_map.size(); ++i) {
    HvmMemmapEntry e{};
    e.addr = info.memory_map[i].addr;
    e.size = info.memory_map[i].size;
    e.type = static_cast<uint32_t>(info.memory_map[i].type);
    TRY(mem.write_obj(kPvhMemmapAddr + i * sizeof(HvmMemmapEntry), e));
  }
  TRY(mem.write_obj(layout::kPvhStartInfoAddr, start));
  return layout::kPvhStartInfoAddr;
}

Result<uint64_t> write_cmdline(const GuestMemory& mem, const std::string& cmdline,
                               uint64_t max_size) {
  max_size = std::min(max_size, layout::kCmdlineMaxSize);
  if (cmdline.size() + 1 > max_size)
    return make_error("boot_args is " + std::to_string(cmdline.size()) +
                      " bytes; the kernel accepts at most " + std::to_string(max_size - 1));
  if (cmdline.find('\0') != std::string::npos) return make_error("boot_args contains a NUL byte");
  TRY(mem.write(layout::kCmdlineAddr, std::span<const uint8_t>(
                                          reinterpret_cast<const uint8_t*>(cmdline.c_str()),
                                          cmdline.size() + 1)));
  return layout::kCmdlineAddr;
}

Result<uint64_t> place_initrd(const GuestMemory& mem, uint64_t size, uint64_t kernel_end,
                              uint64_t addr_max) {
  constexpr uint64_t kPage = 0x1000;
  const auto& low = mem.regions().front();
  uint64_t top = std::min<uint64_t>(low.guest_addr() + low.size(), addr_max + 1);
  if (size == 0) return make_error("initrd is empty");
  if (size > top) {
    return make_error("initrd (" + std::to_string(size) + " bytes) does not fit in guest memory below " +
                      std::to_string(top >> 20) + " MiB");
  }
  uint64_t addr = (top - size) & ~(kPage - 1);
  if (addr < kernel_end) {
    return make_error("initrd (" + std::to_string(size >> 20) + " MiB) does not fit in guest memory "
                      "between the kernel's end and " + std::to_string(top >> 20) +
                      " MiB: give the VM more memory");
  }
  return addr;
}

}  // namespace ember
