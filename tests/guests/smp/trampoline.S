/*
 * Start-up path of the smp guest's application processors.
 *
 * ap_trampoline_start..ap_trampoline_end is copied by the BSP to AP_TRAMPOLINE_ADDR. An AP leaves
 * wait-for-SIPI in real mode at CS:IP = (AP_SIPI_VECTOR << 8):0000 and goes
 *   real mode -> 32-bit protected mode (the guest's GDT, flat segments)
 *             -> long mode (CR4.PAE, the BSP's CR3, EFER.LME, CR0.PG; Intel SDM vol. 3A 10.8.5)
 *             -> smp_ap_entry64 in the loaded image, which takes a stack and calls smp_ap_main.
 * The copy runs at a different address than it was linked at, so the 16-bit code addresses its
 * own data relative to the trampoline start (DS = CS), and the 32-bit code uses the copy's
 * absolute address. Everything past the first far jump (the GDT, smp_ap_cr3, smp_ap_entry64)
 * lives in the image itself, which protected mode can reach without paging.
 */
#include "boot_defs.h"
#include "smp_defs.h"

#define TRAMPOLINE_ADDR_OF(label) (AP_TRAMPOLINE_ADDR + ((label) - ap_trampoline_start))

  .section .text, "ax", @progbits

  .code16
  .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
  cli
  cld
  movw %cs, %ax
  movw %ax, %ds
  lgdtl (trampoline_gdtr - ap_trampoline_start)
  movl %cr0, %eax
  orl $CR0_PE, %eax
  movl %eax, %cr0
  ljmpl $GUEST_CS32, $TRAMPOLINE_ADDR_OF(trampoline_protected)

  .code32
trampoline_protected:
  movw $GUEST_DS, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss

  movl %cr4, %eax
  orl $CR4_PAE, %eax
  movl %eax, %cr4

  /* The BSP's page tables lie below 4 GiB, so the low half of its CR3 is all of it. */
  movl smp_ap_cr3, %eax
  movl %eax, %cr3

  movl $MSR_EFER, %ecx
  rdmsr
  orl $EFER_LME, %eax
  wrmsr

  movl %cr0, %eax
  orl $CR0_PG, %eax
  movl %eax, %cr0

  ljmp $GUEST_CS64, $smp_ap_entry64

  .balign 8
trampoline_gdtr:
  .word GUEST_GDT_LIMIT
  .long gdt
ap_trampoline_end:

  .code64
  .globl smp_ap_entry64
  .type smp_ap_entry64, @function
smp_ap_entry64:
  movw $GUEST_DS, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movw %ax, %fs
  movw %ax, %gs

  /* Claim a stack slot. An AP beyond the stacks available parks without touching memory. */
  movl $1, %eax
  lock xaddl %eax, smp_ap_next_slot(%rip)
  cmpl $AP_MAX_COUNT, %eax
  jae 2f
  incl %eax
  shlq $AP_STACK_SHIFT, %rax
  leaq ap_stacks(%rip), %rsp
  addq %rax, %rsp                 /* top of slot n = ap_stacks + (n + 1) * AP_STACK_SIZE */
  xorl %ebp, %ebp
  call smp_ap_main
2:
  cli
  hlt
  jmp 2b
  .size smp_ap_entry64, . - smp_ap_entry64

  .section .data, "aw", @progbits
  .balign 8
  .globl smp_ap_cr3
smp_ap_cr3:
  .quad 0
smp_ap_next_slot:
  .long 0

  .section .bss, "aw", @nobits
  .balign 16
ap_stacks:
  .skip AP_MAX_COUNT * AP_STACK_SIZE

  .section .note.GNU-stack, "", @progbits
