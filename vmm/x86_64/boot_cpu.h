// The CPU state a kernel is entered with: GDT and page tables in guest memory, and the
// register values for the two entry protocols we support.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember {

enum class EntryMode {
  kLong64,     // Linux 64-bit boot protocol: long mode, paging on, RSI = boot_params
  kProtected32 // Xen PVH: 32-bit protected mode, paging off, EBX = hvm_start_info
};

// Writes the boot GDT (selectors 0x10 code, 0x18 data, 0x20 TSS, as the Linux boot protocol
// asks for __BOOT_CS/__BOOT_DS) and, for long mode, an identity map of the first 4 GiB with
// 2 MiB pages (the kernel, the ACPI tables and the MMIO devices must all be reachable).
[[nodiscard]] Result<void> write_boot_tables(const GuestMemory& mem, EntryMode mode);

// Builds special registers from the vCPU's current ones.
[[nodiscard]] kvm_sregs boot_sregs(const kvm_sregs& current, EntryMode mode);
// RIP = entry; RSI (long mode) or RBX (PVH) = `boot_info` address.
[[nodiscard]] kvm_regs boot_regs(EntryMode mode, uint64_t entry, uint64_t boot_info);
// x87 control word and MXCSR at their power-on defaults.
[[nodiscard]] kvm_fpu boot_fpu();
// LINT0 as ExtINT (the 8259 reaches the BSP) and LINT1 as NMI, per the MP spec's virtual
// wire mode that Linux expects at hand-over.
void set_lint_vectors(kvm_lapic_state* lapic);

// The GDT entries, exposed for tests.
[[nodiscard]] uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

}  // namespace ember
