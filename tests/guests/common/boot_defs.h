/*
 * Constants shared by the guests' assembly entry code and their C code (this header is included
 * from both, so it holds only #defines).
 */
#ifndef EMBER_GUEST_BOOT_DEFS_H
#define EMBER_GUEST_BOOT_DEFS_H

/* Selectors of the guest's own GDT (gdt in entry64.S). */
#define GUEST_CS64 0x08
#define GUEST_DS 0x10
#define GUEST_CS32 0x18
/* Its limit (4 descriptors of 8 bytes), for lgdt pseudo-descriptors outside entry64.S. */
#define GUEST_GDT_LIMIT (4 * 8 - 1)

/* How the guest was entered; stored in guest_entry_kind by the entry code. */
#define GUEST_ENTRY_PVH 1
#define GUEST_ENTRY_LINUX64 2

/* Stack of the bootstrap CPU. */
#define GUEST_BSP_STACK_SIZE 16384

/* Architectural registers used by the entry code. */
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20

/* The serial port's transmit register, written directly by the boot-time marker. */
#define GUEST_SERIAL_THR 0x3f8

#ifdef __ASSEMBLER__
/*
 * The boot-time marker: guests built with EMBER_GUEST_EARLY_MARK write the byte 'E' to the serial
 * port as the very first instructions of each entry point, before any other setup and without
 * polling the line status, so an observer of the console sees when the first guest instruction ran.
 * It clobbers only EAX and EDX, which neither boot protocol uses to pass anything.
 */
.macro EARLY_MARK
#ifdef EMBER_GUEST_EARLY_MARK
  movw $GUEST_SERIAL_THR, %dx
  movb $'E', %al
  outb %al, %dx
#endif
.endm
#endif

#endif
