/*
 * 64-bit entry of the test guests, and the state both entry paths share: the guest's own GDT, its
 * identity page tables and the bootstrap CPU's stack.
 *
 * entry_linux64 is the ELF entry point (e_entry). It follows the Linux x86 boot protocol's 64-bit
 * entry (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the CPU is in long mode with
 * paging on, a flat GDT loaded, interrupts off, and RSI holds the physical address of boot_params
 * (the "zero page"). The protocol only promises that the kernel image, boot_params and the command
 * line are identity mapped, so the guest switches to its own page tables, which also map the
 * boot timer (0xd0000000) and the local APIC (0xfee00000).
 *
 * The PVH entry (entry_pvh.S) reaches long mode itself and then jumps to common64.
 */
#include "boot_defs.h"

  .section .text.entry, "ax", @progbits
  .code64

  .globl entry_linux64
  .type entry_linux64, @function
entry_linux64:
  EARLY_MARK
  cli
  cld
  movq %rsi, guest_boot_info_paddr(%rip)
  movl $GUEST_ENTRY_LINUX64, guest_entry_kind(%rip)

  /* The image runs where it was linked (virtual == physical), so a RIP-relative address is also
     the physical one, and the new tables map the code being executed the same way. */
  leaq boot_pml4(%rip), %rax
  movq %rax, %cr3
  lgdt gdt_descriptor(%rip)

  /* Reload CS from the new GDT with a far return; the data segments are reloaded in common64. */
  pushq $GUEST_CS64
  leaq common64(%rip), %rax
  pushq %rax
  lretq
  .size entry_linux64, . - entry_linux64

/* Both entry paths arrive here in 64-bit mode on the guest's GDT and page tables. */
  .globl common64
  .type common64, @function
common64:
  movw $GUEST_DS, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movw %ax, %fs
  movw %ax, %gs
  leaq bsp_stack_top(%rip), %rsp
  xorl %ebp, %ebp
  call guest_start
1:
  cli
  hlt
  jmp 1b
  .size common64, . - common64

/*
 * The GDT (Intel SDM vol. 3A 3.4.5, "Segment Descriptors"). Flat 4 GiB segments; the accessed bit
 * is preset in each type so the CPU never needs to write the table.
 */
  .section .data, "aw", @progbits
  .balign 16
  .globl gdt, gdt_end, gdt_descriptor
gdt:
  .quad 0                       /* null */
  .quad 0x00af9b000000ffff      /* GUEST_CS64: code, execute/read, L=1 */
  .quad 0x00cf93000000ffff      /* GUEST_DS: data, read/write, 4 KiB granularity, 32-bit */
  .quad 0x00cf9b000000ffff      /* GUEST_CS32: code, execute/read, D=1 (trampolines, PVH) */
gdt_end:
  .if gdt_end - gdt - 1 != GUEST_GDT_LIMIT
  .error "GUEST_GDT_LIMIT in boot_defs.h does not match the GDT"
  .endif

/* Pseudo-descriptor for lgdt. In 32-bit mode lgdt reads only limit and the low 4 bytes of the
   base, which is the whole address since the image lies below 4 GiB. */
  .balign 8
gdt_descriptor:
  .word GUEST_GDT_LIMIT
  .quad gdt

/* How the guest was entered (GUEST_ENTRY_*) and the physical address of the boot information
   (PVH: hvm_start_info from EBX; Linux: boot_params from RSI). In .data, not .bss, so they do
   not depend on the loader zero-filling. */
  .balign 8
  .globl guest_boot_info_paddr, guest_entry_kind
guest_boot_info_paddr:
  .quad 0
guest_entry_kind:
  .long 0

/*
 * Identity map of the first 4 GiB with 2 MiB pages (Intel SDM vol. 3A 4.5, "4-Level Paging"):
 * one PML4, one PDPT and four page directories. The tables are built by the assembler rather
 * than at run time: the VMM loads them with the image, which saves the guest ~10k instructions
 * (tens of milliseconds where CPL0 code is emulated). Upper levels: present, writable,
 * accessed. 2 MiB pages: present, writable, accessed, dirty, PS; the MMIO hole from 0xd0000000
 * up is also cache-disabled (PCD|PWT), as device registers must be on real hardware.
 */
  .section .data.page_tables, "aw", @progbits
  .balign 4096
  .globl boot_pml4
boot_pml4:
  .quad boot_pdpt + 0x23
  .fill 511, 8, 0
boot_pdpt:
  .quad boot_pd + 0x0000 + 0x23
  .quad boot_pd + 0x1000 + 0x23
  .quad boot_pd + 0x2000 + 0x23
  .quad boot_pd + 0x3000 + 0x23
  .fill 508, 8, 0
boot_pd:
  .set page_addr, 0
  .rept 2048
  .if page_addr >= 0xd0000000
  .quad page_addr + 0xfb
  .else
  .quad page_addr + 0xe3
  .endif
  .set page_addr, page_addr + 0x200000
  .endr

  .section .bss, "aw", @nobits
  .balign 16
bsp_stack:
  .skip GUEST_BSP_STACK_SIZE
bsp_stack_top:

  .section .note.GNU-stack, "", @progbits
