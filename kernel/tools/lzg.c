/* lzg.c — compress the linked kernel for boot/stage2.asm's decoder (build-time host tool).
 *
 *   lzg IN OUT
 *
 * Format: LZ77 with Elias-gamma codes and a repeated offset, as a stream of bits and bytes
 * interleaved in the order the decoder reads them. Bits come MSB first from a bit byte that is
 * taken from the stream when the previous one is used up (the first bit read takes the first).
 * gamma(v), v >= 1: for each bit of v below its top bit, high to low, a 1 then that bit; then 0.
 * Items:
 *   literals  gamma(n), then n bytes
 *   match     gamma((offset - 1) / 256 + 1), the byte (offset - 1) % 256, gamma(length - 1):
 *             copy `length` (>= 2) bytes from `offset` bytes back; it may overlap
 *   repeat    gamma(length): a match at the offset of the last match
 * The stream starts with literals. After literals a bit says: 1 match, 0 repeat; after a match
 * or a repeat: 1 match, 0 literals. The decoder stops at the length it is given, so there is no
 * end marker.
 *
 * What is compressed is the kernel with its x86 branches filtered: at each E8 (call rel32) or E9
 * (jmp rel32) byte, scanning from the start, the next 4 bytes (little-endian) get the offset of
 * the byte after them added (relative → absolute targets, which repeat where calls to one
 * function do) and the scan goes on after them; only while 5 bytes are left. The decoder
 * subtracts them again once the stream is expanded. Any byte E8/E9 counts, data too: the
 * change is undone exactly either way.
 *
 * Parse by dynamic programming over positions for the shortest stream in bits, with two states,
 * "ends in literals" and "ends in a match", each keeping its KC cheapest prefixes with different
 * repeat offsets (1 to 4 saved 70 bytes on the kernel; 8 or 32, 2 more); a new match takes the
 * nearest offset for each length. Ties keep the first candidate found, in a fixed order:
 * deterministic. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN (1 << 16)       /* the expanded kernel has 32 KiB at most (layout.ld) */
#define MAX_LITERALS 4096

enum { LIT, MATCH };           /* state: what the encoding of the prefix ends with */
enum { K_LIT, K_MATCH, K_REP }; /* item kinds */

struct node {
    long cost;                 /* bits; LONG_MAX: unreachable */
    unsigned from, len, off;   /* item: start position, length, offset (0: literals) */
    unsigned char kind, from_state;
    unsigned last;             /* offset a repeat would use after this prefix (0: none) */
    unsigned char from_k;      /* which of the from position's candidates */
};
#define KC 4                   /* candidates per position and state */

static unsigned char in[MAX_IN], original[MAX_IN];
static struct node node[2][MAX_IN + 1][KC];

static int gamma_bits(unsigned v)
{
    int b = 1;
    while (v > 1) {
        v >>= 1;
        b += 2;
    }
    return b;
}

static int offset_bits(unsigned off) { return gamma_bits((off - 1) / 256 + 1) + 8; }

/* Offer a prefix ending at `to`: it replaces the candidate with the same repeat offset if it is
 * cheaper, else the most expensive one; the candidates stay sorted by cost. */
static void relax(int state, unsigned to, long cost, unsigned from, int from_state, int kind,
                  unsigned len, unsigned off, unsigned last, int from_k)
{
    struct node *d = node[state][to];
    int k;
    for (k = 0; k < KC && d[k].cost != LONG_MAX && d[k].last != last; k++)
        ;
    if (k == KC)
        k = KC - 1;
    if (cost >= d[k].cost)
        return;
    d[k] = (struct node){cost, from, len, off, (unsigned char)kind, (unsigned char)from_state,
                         last, (unsigned char)from_k};
    for (; k > 0 && d[k].cost < d[k - 1].cost; k--) {
        struct node t = d[k];
        d[k] = d[k - 1];
        d[k - 1] = t;
    }
}

static unsigned char *out;
static size_t o, bitpos;
static int bits_left;

static void put_bit(int bit)
{
    if (!bits_left) {
        bitpos = o++;
        out[bitpos] = 0;
        bits_left = 8;
    }
    bits_left--;
    if (bit)
        out[bitpos] |= (unsigned char)(1 << bits_left);
}

static void put_gamma(unsigned v)
{
    int top = 31;
    while (!(v >> top))
        top--;
    while (top--) {
        put_bit(1);
        put_bit((v >> top) & 1);
    }
    put_bit(0);
}

/* The branch filter above: add (absolute) or subtract each branch's position. */
static void filter_branches(unsigned char *b, size_t n, int sign)
{
    for (size_t i = 0; i + 5 <= n; i++) {
        if ((b[i] & 0xFE) != 0xE8)
            continue;
        unsigned v = (unsigned)b[i + 1] | (unsigned)b[i + 2] << 8 | (unsigned)b[i + 3] << 16 |
                     (unsigned)b[i + 4] << 24;
        v += (unsigned)sign * (unsigned)(i + 5);
        for (int k = 1; k <= 4; k++, v >>= 8)
            b[i + k] = (unsigned char)v;
        i += 4;
    }
}

/* The stream expanded as boot/stage2.asm does, to check every build's output before it ships. */
static const unsigned char *x;
static unsigned x_bits, x_bit;

static int get_bit(void)
{
    if (!x_bits) {
        x_bit = *x++;
        x_bits = 8;
    }
    return (x_bit >> --x_bits) & 1;
}

static unsigned get_gamma(void)
{
    unsigned v = 1;
    while (get_bit())
        v = v << 1 | (unsigned)get_bit();
    return v;
}

static int expands_to_original(const unsigned char *stream, size_t size, size_t n)
{
    static unsigned char check[MAX_IN];
    size_t d = 0, len, off = 0;
    int after_literals = 1;
    x = stream;
    x_bits = 0;
    goto literals;
    for (;;) {
        if (get_bit()) {
            off = (get_gamma() - 1) * 256 + *x++ + 1;
            len = get_gamma() + 1;
        } else if (after_literals) {
            len = get_gamma();
        } else {
        literals:
            len = get_gamma();
            if (d + len > n)
                return 0;
            memcpy(check + d, x, len);
            x += len;
            d += len;
            after_literals = 1;
            if (d >= n)
                break;
            continue;
        }
        if (off > d || d + len > n)
            return 0;
        for (; len; len--, d++)
            check[d] = check[d - off];
        after_literals = 0;
        if (d >= n)
            break;
    }
    filter_branches(check, n, -1);
    return (size_t)(x - stream) == size && memcmp(check, original, n) == 0;
}

int main(int argc, char **argv)
{
    FILE *f;
    if (argc != 3 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: lzg IN OUT\n");
        return 2;
    }
    size_t n = fread(in, 1, sizeof in, f);
    fclose(f);
    if (n < 5 || n >= MAX_IN) {
        fprintf(stderr, "lzg: input must be 5 .. %d bytes\n", MAX_IN - 1);
        return 2;
    }
    memcpy(original, in, n);
    filter_branches(in, n, 1);
    for (size_t i = 0; i <= n; i++)
        for (int k = 0; k < KC; k++)
            node[LIT][i][k].cost = node[MATCH][i][k].cost = LONG_MAX;
    node[MATCH][0][0].cost = -1;  /* the start: literals follow without the bit that says so */
    static unsigned best_off[MAX_IN];  /* per length: the nearest offset with a match that long */
    for (unsigned i = 0; i < n; i++) {
        for (int c = 0; c < KC; c++) {
            struct node *l = &node[LIT][i][c], *m = &node[MATCH][i][c];
            if (m->cost != LONG_MAX) {
                for (unsigned len = 1; len <= MAX_LITERALS && i + len <= n; len++)
                    relax(LIT, i + len, m->cost + 1 + gamma_bits(len) + 8L * len, i, MATCH, K_LIT,
                          len, 0, i ? m->last : 0, c);
            }
            if (l->cost != LONG_MAX && l->last && l->last <= i) {
                unsigned r = l->last, len = 0;
                while (i + len < n && in[i + len] == in[i + len - r])
                    len++;
                for (unsigned k = 1; k <= len; k++)
                    relax(MATCH, i + k, l->cost + 1 + gamma_bits(k), i, LIT, K_REP, k, r, r, c);
            }
        }
        struct node *l = &node[LIT][i][0], *m = &node[MATCH][i][0];
        int from_state = l->cost <= m->cost ? LIT : MATCH;
        long base = from_state == LIT ? l->cost : m->cost;
        if (base == LONG_MAX || i == 0)
            continue;
        unsigned longest = 1;
        for (unsigned off = 1; off <= i; off++) {
            unsigned len = 0;
            while (i + len < n && in[i + len] == in[i + len - off])
                len++;
            for (; longest < len; longest++)
                best_off[longest + 1] = off;
        }
        for (unsigned len = 2; len <= longest; len++) {
            unsigned off = best_off[len];
            relax(MATCH, i + len, base + 1 + offset_bits(off) + gamma_bits(len - 1), i,
                  from_state, K_MATCH, len, off, off, 0);
        }
    }
    /* Walk back from the cheapest end, then write the items front to back. */
    static unsigned char order_state[MAX_IN + 1], order_k[MAX_IN + 1];
    static unsigned order_pos[MAX_IN + 1];
    size_t items = 0;
    int state = node[LIT][n][0].cost <= node[MATCH][n][0].cost ? LIT : MATCH, kk = 0;
    for (unsigned pos = (unsigned)n; pos;) {
        struct node *d = &node[state][pos][kk];
        order_state[items] = (unsigned char)state;
        order_k[items] = (unsigned char)kk;
        order_pos[items++] = pos;
        pos = d->from;
        state = d->from_state;
        kk = d->from_k;
    }
    out = malloc(2 * n + 16);
    for (size_t k = items; k--;) {
        struct node *d = &node[order_state[k]][order_pos[k]][order_k[k]];
        if (k != items - 1)
            put_bit(d->kind == K_MATCH);  /* after literals: 1 match, 0 repeat; else 1 match */
        if (d->kind == K_LIT) {
            put_gamma(d->len);
            memcpy(out + o, in + d->from, d->len);
            o += d->len;
        } else if (d->kind == K_REP) {
            put_gamma(d->len);
        } else {
            put_gamma((d->off - 1) / 256 + 1);
            out[o++] = (unsigned char)((d->off - 1) % 256);
            put_gamma(d->len - 1);
        }
    }
    if (!expands_to_original(out, o, n)) {
        fprintf(stderr, "lzg: the stream does not expand to the input\n");
        return 1;
    }
    if (!(f = fopen(argv[2], "wb")) || fwrite(out, 1, o, f) != o || fclose(f)) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
