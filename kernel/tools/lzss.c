/* lzss.c — compress the linked kernel for boot/stage2.asm's decoder (build-time host tool).
 *
 *   lzss IN OUT
 *
 * Format: groups of a control byte and up to 8 items, LSB first. Bit 1: one literal byte.
 * Bit 0: a match, 2 bytes little-endian, (offset - 1) << 4 | (length - 3), copying `length`
 * bytes from `offset` bytes back in the output (offset 1..4096, length 3..18; it may overlap).
 * The decoder stops at a length it is given, so there is no end marker. Greedy longest match,
 * nearest on ties: deterministic. */
#include <stdio.h>
#include <stdlib.h>

#define WINDOW 4096
#define MIN_MATCH 3
#define MAX_MATCH 18

int main(int argc, char **argv)
{
    static unsigned char in[1 << 20], out[(1 << 20) + (1 << 17)];
    FILE *f;
    if (argc != 3 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: lzss IN OUT\n");
        return 2;
    }
    size_t n = fread(in, 1, sizeof in, f), o = 0;
    fclose(f);
    for (size_t i = 0; i < n;) {
        size_t control = o++;
        out[control] = 0;
        for (int bit = 0; bit < 8 && i < n; bit++) {
            size_t best_len = 0, best_off = 0;
            for (size_t off = 1; off <= WINDOW && off <= i; off++) {
                size_t len = 0;
                while (len < MAX_MATCH && i + len < n && in[i + len - off] == in[i + len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_off = off;
                }
            }
            if (best_len >= MIN_MATCH) {
                unsigned v = (unsigned)((best_off - 1) << 4 | (best_len - MIN_MATCH));
                out[o++] = (unsigned char)v;
                out[o++] = (unsigned char)(v >> 8);
                i += best_len;
            } else {
                out[control] |= (unsigned char)(1 << bit);
                out[o++] = in[i++];
            }
        }
    }
    if (!(f = fopen(argv[2], "wb")) || fwrite(out, 1, o, f) != o || fclose(f)) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
