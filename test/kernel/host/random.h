/* random.h — the host test tools' reproducible pseudo-random numbers (xorshift32). */
#ifndef EXO_TEST_RANDOM_H
#define EXO_TEST_RANDOM_H

#include <stdint.h>

static uint32_t rng = 1;  /* set from the command line's seed; never 0 */

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

#endif
