/* Constants shared by the smp guest's trampoline (trampoline.S) and its C code (smp.c). */
#ifndef EMBER_GUEST_SMP_DEFS_H
#define EMBER_GUEST_SMP_DEFS_H

/*
 * Where the BSP copies the real-mode trampoline. A start-up IPI's vector is the page number of
 * the start address (the AP begins at CS = vector << 8, IP = 0), so it must be page aligned and
 * below 1 MiB. 0x10000 is free in ember's layout (between the boot page tables at 0xb000-0xefff
 * and the command line at 0x20000) and in ordinary PC memory maps.
 */
#define AP_TRAMPOLINE_ADDR 0x10000
#define AP_SIPI_VECTOR (AP_TRAMPOLINE_ADDR >> 12)

/* Each AP's stack; the C code on an AP only formats and prints one line. */
#define AP_STACK_SHIFT 12
#define AP_STACK_SIZE (1 << AP_STACK_SHIFT)
/* Stacks for up to GUEST_MAX_CPUS - 1 APs (acpi.h). */
#define AP_MAX_COUNT 63

#endif
