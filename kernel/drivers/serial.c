/* serial.c — COM1 console. The MBR already set the UART to 115200 8N1 (boot/mbr.asm), so the
 * kernel only writes: one line per call, ended by CR LF. */
#include "arch.h"
#include "net/net.h"

#define COM1 0x3F8
#define LSR_THR_EMPTY 0x20

static void serial_putc(char c)
{
    /* Bounded wait: a missing or wedged UART must not hang the kernel. */
    for (int spins = 100000; spins && !(inb(COM1 + 5) & LSR_THR_EMPTY); spins--)
        cpu_relax();
    outb(COM1, c);
}

void plat_log(const char *line)
{
    while (*line)
        serial_putc(*line++);
    serial_putc('\r');
    serial_putc('\n');
}
