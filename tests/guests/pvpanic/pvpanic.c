/*
 * pvpanic: reports a kernel panic the way Linux's pvpanic driver does: reads the pvpanic port
 * (0x505) for the events the VMM accepts, then writes PANICKED (bit 0). ember exits with 3.
 */
#include "runtime.h"

void guest_main(void) {
  uint8_t supported = inb(0x505);
  serial_puts("pvpanic: supported events ");
  serial_put_dec(supported);
  serial_puts("\n");
  outb(0x505, 1);
  serial_puts("pvpanic: still running after the report\n");
  guest_reset();
}
