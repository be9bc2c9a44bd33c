/* plat.c — the four platform seams for the host: a clock the tests move, a seeded PRNG (so a
 * run repeats exactly), a NIC whose transmit queue the tests read, and stderr. */
#include <stdio.h>
#include <string.h>
#include "host.h"

uint32_t host_now;
int host_verbose;

static uint64_t rng;
static struct host_frame tx[HOST_TX_MAX];
static unsigned tx_head, tx_tail;   /* read and write counts */

uint32_t plat_now_ms(void) { return host_now; }

uint32_t plat_random(void)          /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

void plat_tx(const void *frame, uint16_t len)
{
    struct host_frame *f;

    if (tx_tail - tx_head == HOST_TX_MAX) return;   /* a full queue drops, like a NIC */
    if (len > sizeof f->data) len = sizeof f->data;
    f = &tx[tx_tail++ % HOST_TX_MAX];
    f->len = len;
    memcpy(f->data, frame, len);
}

void plat_log(const char *line)
{
    if (host_verbose) fprintf(stderr, "log: %s\n", line);
}

void host_reset(uint32_t seed, uint32_t now_ms)
{
    rng = seed ? seed : 1;
    host_now = now_ms;
    host_tx_clear();
}

const struct host_frame *host_tx_next(void)
{
    return tx_head == tx_tail ? NULL : &tx[tx_head++ % HOST_TX_MAX];
}

unsigned host_tx_pending(void) { return tx_tail - tx_head; }

void host_tx_clear(void) { tx_head = tx_tail = 0; }
