/*
 * panic: exercises the VMM's error exit. After its message it loads an empty IDT and executes
 * ud2: the #UD cannot be delivered (no IDT entry), nor the resulting #GP and #DF, so the CPU
 * shuts down (triple fault, Intel SDM vol. 3A 6.15 "Interrupt 8 - Double Fault Exception") and
 * the VMM sees KVM_EXIT_SHUTDOWN.
 */
#include "runtime.h"

struct __attribute__((packed)) idt_pointer {
  uint16_t limit;
  uint64_t base;
};

void guest_main(void) {
  serial_puts("guest panic: deliberate\n");
  static const struct idt_pointer no_idt = {0, 0};
  __asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt) : "memory");
  halt_forever();  // not reached
}
