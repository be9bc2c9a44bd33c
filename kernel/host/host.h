/* host.h — the host build of exoform's network stack: a fake NIC and a fake clock under the
 * real stack, for the unit tests and the fuzzer. */
#ifndef EXO_HOST_H
#define EXO_HOST_H

#include "net.h"

#define HOST_TX_MAX 256             /* frames kept until read; more are counted, not kept */

struct host_frame {
    uint16_t len;
    uint8_t data[1514];
};

extern uint32_t host_now;           /* what plat_now_ms() returns; tests move it */
extern int host_verbose;            /* print plat_log lines */

/* Forget sent frames, reseed plat_random, set the clock. */
void host_reset(uint32_t seed, uint32_t now_ms);
/* The next frame the stack sent, oldest first; NULL when there is none. */
const struct host_frame *host_tx_next(void);
unsigned host_tx_pending(void);
void host_tx_clear(void);

#endif
