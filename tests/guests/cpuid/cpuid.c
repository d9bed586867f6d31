/*
 * cpuid: prints what the CPUID instruction answers on the boot CPU, one line per leaf/subleaf of
 * a fixed list, so that a test can compare the guest's view with what the VMM configured (SMT
 * topology, CPU templates). Line format, all hex without 0x, fixed width:
 *   cpuid LLLLLLLL SSSSSSSS eax=AAAAAAAA ebx=BBBBBBBB ecx=CCCCCCCC edx=DDDDDDDD
 * then "cpuid: done", boot timer write, i8042 reset (ember exits 0).
 */
#include "runtime.h"

struct query {
  uint32_t leaf;
  uint32_t subleaf;
};

/* Identity (0, 1, 0x40000000), caches (4), features (7, 0xd, 0x80000001), topology (0xb, 0x1f,
 * 0x80000008, 0x8000001e). */
static const struct query queries[] = {
    {0x0, 0},        {0x1, 0},        {0x4, 0},        {0x4, 1},        {0x4, 2},
    {0x4, 3},        {0x7, 0},        {0xb, 0},        {0xb, 1},        {0xb, 2},
    {0xd, 0},        {0xd, 1},        {0x1f, 0},       {0x1f, 1},       {0x1f, 2},
    {0x40000000, 0}, {0x80000000, 0}, {0x80000001, 0}, {0x80000008, 0}, {0x8000001e, 0},
};

static void put_hex32(uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int shift = 28; shift >= 0; shift -= 4) serial_putc(digits[(v >> shift) & 0xf]);
}

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
  __asm__ volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(subleaf));
}

void guest_main(void) {
  for (unsigned i = 0; i < sizeof(queries) / sizeof(queries[0]); ++i) {
    uint32_t r[4];
    cpuid(queries[i].leaf, queries[i].subleaf, r);
    serial_puts("cpuid ");
    put_hex32(queries[i].leaf);
    serial_putc(' ');
    put_hex32(queries[i].subleaf);
    serial_puts(" eax=");
    put_hex32(r[0]);
    serial_puts(" ebx=");
    put_hex32(r[1]);
    serial_puts(" ecx=");
    put_hex32(r[2]);
    serial_puts(" edx=");
    put_hex32(r[3]);
    serial_putc('\n');
  }
  serial_puts("cpuid: done\n");
  boot_timer_signal();
  guest_reset();
}
