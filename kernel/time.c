/* time.c — milliseconds from the TSC, calibrated once against PIT channel 2; plat_random; and
 * the idle wait: for SPIN_MS after the last received frame the loop keeps polling (pause), so
 * a request on a kept-alive connection is answered at once; after that a 1 kHz tick from PIT
 * channel 0 ends a hlt, so an idle guest does not spin a host CPU. Works under TCG, where the
 * TSC follows host time just as the emulated PIT does. */
#include "arch.h"
#include "kernel.h"
#include "net/net.h"

#define PIT_HZ 1193182
#define CALIBRATE_MS 1
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_ONESHOT 0xB0   /* channel 2, low then high byte, mode 0 (count down once) */
#define PORT_B 0x61            /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIT_CH0_DATA 0x40
#define PIT_CH0_RATE 0x34      /* channel 0, low then high byte, mode 2 (periodic) */
#define PIT_TICK_HZ 1000
#define SPIN_MS 4              /* keep polling this long after the last frame */

static uint64_t tsc_per_ms = 1000000;  /* used only if the PIT never answers */
static uint64_t rng_state;
static int ticking;                   /* the PIT answered: the timer tick will end a hlt */
static uint64_t last_frame;           /* TSC when the last frame came */

/* 8259 PICs: IRQ 0–15 → vectors 0x20–0x2F (boot/entry.asm's gates), all masked but the timer. */
static const uint8_t pic_setup[][2] = {
    { 0x20, 0x11 }, { 0xA0, 0x11 },   /* ICW1: init, ICW4 follows */
    { 0x21, 0x20 }, { 0xA1, 0x28 },   /* ICW2: vector bases */
    { 0x21, 0x04 }, { 0xA1, 0x02 },   /* ICW3: slave on IRQ 2 */
    { 0x21, 0x01 }, { 0xA1, 0x01 },   /* ICW4: 8086 mode */
    { 0x21, 0xFE }, { 0xA1, 0xFF },   /* masks: only IRQ 0 */
    { PIT_COMMAND, PIT_CH0_RATE },
    { PIT_CH0_DATA, (PIT_HZ / PIT_TICK_HZ) & 0xFF }, { PIT_CH0_DATA, (PIT_HZ / PIT_TICK_HZ) >> 8 },
};

void time_init(void)
{
    uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
    outb(PORT_B, (uint8_t)((inb(PORT_B) & ~2) | 1));
    outb(PIT_COMMAND, PIT_CH2_ONESHOT);
    outb(PIT_CH2_DATA, (uint8_t)count);
    outb(PIT_CH2_DATA, (uint8_t)(count >> 8));
    uint64_t start = rdtsc();
    for (uint32_t spins = 50000000; spins; spins--)
        if (inb(PORT_B) & 0x20) {
            tsc_per_ms = (rdtsc() - start) / CALIBRATE_MS + 1;
            ticking = 1;
            break;
        }
    rng_state = start;
    for (unsigned i = 0; ticking && i < sizeof pic_setup / sizeof pic_setup[0]; i++)
        outb(pic_setup[i][0], pic_setup[i][1]);
}

void time_idle(int frames)
{
    uint64_t now = rdtsc();
    if (frames)
        last_frame = now;
    else if (now - last_frame < SPIN_MS * tsc_per_ms)
        cpu_relax();  /* traffic was just here: the next frame is likely near */
    else if (ticking)
        /* sti's one-instruction delay makes "sti; hlt" atomic: a tick cannot slip in between and
         * leave hlt waiting. Interrupts are on only while halted, so no C code is interrupted. */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

uint32_t plat_now_ms(void) { return (uint32_t)(rdtsc() / tsc_per_ms); }

uint32_t plat_random(void)
{
    /* xorshift64, stirred with the TSC at every call: good enough for xids and ISNs. */
    rng_state ^= rdtsc();
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}
