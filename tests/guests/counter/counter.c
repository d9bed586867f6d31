/*
 * counter: prints "count N" lines as fast as the serial port takes them, N kept in guest
 * memory. The snapshot benchmark restores it and times the first line after the load request:
 * with no delay loop between lines, that line comes as soon as the vCPU runs again.
 */
#include "runtime.h"

static volatile uint64_t count;

void guest_main(void) {
  boot_timer_signal();
  serial_puts("counter: started\n");
  for (;;) {
    serial_puts("count ");
    serial_put_dec(count);
    serial_puts("\n");
    count = count + 1;
  }
}
