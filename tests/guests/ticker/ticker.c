/*
 * ticker: prints "tick N" lines for ever, about every 20 ms (TSC-timed), so a test can see a
 * paused VM make no progress and a resumed one continue. The count lives in guest memory (not
 * only in a register), so a snapshot test shows that memory came back. Writes the boot timer
 * first.
 */
#include "runtime.h"

static volatile uint64_t ticks;

void guest_main(void) {
  boot_timer_signal();
  serial_puts("ticker: started\n");
  for (;;) {
    serial_puts("tick ");
    serial_put_dec(ticks);
    serial_puts("\n");
    ticks = ticks + 1;
    delay_at_least_us(20000);
  }
}
