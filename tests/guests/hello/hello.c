/*
 * hello: the smallest end-to-end check of a boot path. Prints a greeting and which entry the VMM
 * used, signals the boot timer, and asks for a reset (ember exits 0).
 */
#include "runtime.h"

void guest_main(void) {
  serial_puts("Hello from the ember test guest\n");
  serial_puts(guest_entry_kind == GUEST_ENTRY_PVH ? "entry: pvh\n" : "entry: linux64\n");
  boot_timer_signal();
  guest_reset();
}
