/*
 * poweroff: requests ACPI S5 through the hardware-reduced sleep control register (ember: port
 * 0x600, which makes it exit 0), the clean-shutdown counterpart of hello's reset.
 */
#include "runtime.h"

void guest_main(void) {
  serial_puts("poweroff: requesting ACPI S5\n");
  guest_poweroff();
}
