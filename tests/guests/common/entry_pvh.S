/*
 * PVH entry of the test guests (only linked into the <name>.elf variant).
 *
 * The Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h and docs/misc/pvh.pandoc in
 * the Xen tree): the VMM finds the 32-bit entry point in an ELF note named "Xen" of type
 * XEN_ELFNOTE_PHYS32_ENTRY (18) and starts the CPU there in 32-bit protected mode with paging off,
 * flat 4 GiB CS/DS/ES/SS, interrupts off, and EBX = physical address of struct hvm_start_info.
 * This stub switches to long mode on the guest's own identity map (IA-32e mode activation, Intel
 * SDM vol. 3A 10.8.5: CR4.PAE, CR3, EFER.LME, then CR0.PG) and jumps to common64.
 */
#include "boot_defs.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

  .section .note.Xen, "a", @note
  .balign 4
  .long 2f - 1f                 /* namesz */
  .long 4f - 3f                 /* descsz */
  .long XEN_ELFNOTE_PHYS32_ENTRY
1:
  .asciz "Xen"
2:
  .balign 4
3:
  .long entry_pvh32             /* physical address of the 32-bit entry */
4:
  .balign 4

  .section .text.entry, "ax", @progbits
  .code32
  .globl entry_pvh32
  .type entry_pvh32, @function
entry_pvh32:
  EARLY_MARK
  cli
  cld
  /* Paging is off and DS is flat, so absolute addresses are physical. */
  movl %ebx, guest_boot_info_paddr
  movl $0, guest_boot_info_paddr + 4
  movl $GUEST_ENTRY_PVH, guest_entry_kind

  lgdt gdt_descriptor

  movl %cr4, %eax
  orl $CR4_PAE, %eax
  movl %eax, %cr4

  movl $boot_pml4, %eax
  movl %eax, %cr3

  movl $MSR_EFER, %ecx
  rdmsr
  orl $EFER_LME, %eax
  wrmsr

  movl %cr0, %eax
  orl $(CR0_PG | CR0_PE), %eax
  movl %eax, %cr0

  /* Now in compatibility mode; the far jump to a 64-bit code segment enters 64-bit mode. */
  ljmp $GUEST_CS64, $common64
  .size entry_pvh32, . - entry_pvh32

  .section .note.GNU-stack, "", @progbits
