/* time.c — milliseconds from the TSC, calibrated against PIT channel 2; plat_random; the PICs;
 * and the idle wait: the loop halts until an interrupt, the NIC's (a frame came) or a 100 Hz
 * tick from PIT channel 0 (the timers: ARP, DHCP, TCP), so an idle guest costs the host
 * almost nothing. Works under TCG, where the TSC follows host time just as the emulated PIT
 * does. */
#include "arch.h"
#include "kernel.h"
#include "net/net.h"

#define PIT_HZ 1193182
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_ONESHOT 0xB0   /* channel 2, low then high byte, mode 0 (count down once) */
#define PORT_B 0x61            /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIT_CH0_DATA 0x40
#define PIT_CH0_RATE 0x34      /* channel 0, low then high byte, mode 2 (periodic) */
#define PIT_TICK_HZ 100        /* timer resolution; frames wake the loop on their own */
#define PIC1_MASK 0x21
#define PIC2_MASK 0xA1
#define CALIBRATE_ROUNDS 32    /* 1 ms countdowns, until one is timed to 1/128 */
#define TSC_MIN_PER_MS 50000   /* 50 MHz … */
#define TSC_MAX_PER_MS 20000000 /* … 20 GHz: outside, the measurement is garbage */

static uint64_t tsc_per_ms = 1000000;  /* used only if the PIT never answers */
static uint64_t rng_state;
static int ticking;                   /* the PIT answered: the timer tick will end a hlt */

/* 8259 PICs: IRQ 0–15 → vectors 0x20–0x2F (boot/entry.asm's gates), all masked but the timer
 * and the cascade (irq_unmask adds the NIC's line). */
static const uint8_t pic_setup[][2] = {
    { 0x20, 0x11 }, { 0xA0, 0x11 },   /* ICW1: init, ICW4 follows */
    { 0x21, 0x20 }, { 0xA1, 0x28 },   /* ICW2: vector bases */
    { 0x21, 0x04 }, { 0xA1, 0x02 },   /* ICW3: slave on IRQ 2 */
    { 0x21, 0x01 }, { 0xA1, 0x01 },   /* ICW4: 8086 mode */
    { PIC1_MASK, 0xFA }, { PIC2_MASK, 0xFF },   /* masks: IRQ 0 and the cascade */
    { PIT_COMMAND, PIT_CH0_RATE },
    { PIT_CH0_DATA, (PIT_HZ / PIT_TICK_HZ) & 0xFF }, { PIT_CH0_DATA, (PIT_HZ / PIT_TICK_HZ) >> 8 },
};

/* TSC ticks per ms against PIT channel 2, robust to the vCPU being preempted (a busy host).
 * A round times a 1 ms countdown with bounds: it started between the TSC reads around the port
 * write that starts it, and ended between the TSC read before the last port read that saw it
 * running and the one after the read that saw it end; a preemption at either end only widens
 * the bounds, and one in the middle changes nothing (TSC and PIT both follow host time). Rounds
 * go on until one is timed to 1/128 (at most CALIBRATE_ROUNDS); the round with the narrowest
 * bounds counts, its midpoint. Sets `ticking` if the PIT answered with a sane rate. */
static void calibrate(void)
{
    const uint16_t count = PIT_HZ / 1000;
    uint64_t best = 0, best_spread = ~0ull;
    outb(PORT_B, (uint8_t)((inb(PORT_B) & ~2) | 1));
    for (int round = 0; round < CALIBRATE_ROUNDS && best_spread > best / 128; round++) {
        outb(PIT_COMMAND, PIT_CH2_ONESHOT);
        outb(PIT_CH2_DATA, (uint8_t)count);
        uint64_t start = rdtsc();
        outb(PIT_CH2_DATA, (uint8_t)(count >> 8));  /* the countdown starts in here */
        uint64_t started = rdtsc(), running = started;
        for (uint32_t spins = 10000000; spins; spins--) {
            uint64_t before = rdtsc();
            if (inb(PORT_B) & 0x20) {
                uint64_t shortest = running - started, longest = rdtsc() - start;
                if (longest - shortest < best_spread) {
                    best_spread = longest - shortest;
                    best = shortest + best_spread / 2;
                }
                break;
            }
            running = before;  /* the countdown was still running after this */
        }
    }
    if (best > TSC_MIN_PER_MS && best < TSC_MAX_PER_MS) {
        tsc_per_ms = best;
        ticking = 1;
    }
}

void time_init(void)
{
    calibrate();
    rng_state = rdtsc();
    for (unsigned i = 0; ticking && i < sizeof pic_setup / sizeof pic_setup[0]; i++)
        outb(pic_setup[i][0], pic_setup[i][1]);
}

void irq_unmask(uint8_t irq)
{
    uint16_t keep = (uint16_t)~(1u << irq);
    outb(PIC1_MASK, inb(PIC1_MASK) & (uint8_t)keep);
    outb(PIC2_MASK, inb(PIC2_MASK) & (uint8_t)(keep >> 8));
}

void time_idle(void)
{
    /* sti's one-instruction delay makes "sti; hlt" atomic: an interrupt cannot slip in between
     * and leave hlt waiting. Interrupts are on only while halted, so no C code is interrupted. */
    if (ticking)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

uint32_t plat_now_ms(void) { return (uint32_t)(rdtsc() / tsc_per_ms); }

uint32_t plat_random(void)
{
    /* xorshift64, stirred with the TSC at every call: good enough for xids and cookie secrets. */
    rng_state ^= rdtsc();
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}
