/* config_check.c — drives kernel/config.c on the host for test/kernel/config.test.ts.
 *
 *   config_check block FILE     apply a configuration block (the file, zero-padded to 4096)
 *   config_check smbios STRING  apply an SMBIOS serial number
 *   config_check table FILE     the type 1 serial number in an SMBIOS structure table
 *   config_check fuzz N SEED    N mutated blocks, serials and tables; must not crash (ASan)
 *
 * Prints console lines as "log: …" and the outcome as one "result: …" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "random.h"

static int quiet;  /* fuzzing: no console lines */

void plat_log(const char *line)
{
    if (!quiet)
        printf("log: %s\n", line);
}

static void print_result(const struct exo_config *c, const char *err)
{
    const uint8_t *ip = (const uint8_t *)&c->net.ip, *gw = (const uint8_t *)&c->net.gw;
    if (err) {
        printf("result: invalid %s\n", err);
        return;
    }
    printf("result: source=%s dhcp=%d ip=%u.%u.%u.%u/%u gw=%u.%u.%u.%u port=%u hostname=%s type=%s body=%.*s build=",
           c->net_source, c->net.use_dhcp, ip[0], ip[1], ip[2], ip[3], c->net.prefix, gw[0], gw[1], gw[2], gw[3],
           c->net.http_port, c->net.hostname, c->content_type, c->body_len, c->body ? (const char *)c->body : "");
    for (int i = 0; i < CONFIG_BUILD_ID_BYTES; i++)
        printf("%02x", c->build_id[i]);
    printf("\n");
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}


/* Flip, overwrite or copy a few random bytes of buf[0..len). */
static void mutate(uint8_t *buf, size_t len)
{
    for (int n = 1 + next_random() % 4; n; n--) {
        size_t at = next_random() % len;
        switch (next_random() % 4) {
        case 0: buf[at] ^= (uint8_t)(1 << next_random() % 8); break;
        case 1: buf[at] = (uint8_t)next_random(); break;
        case 2: buf[at] = "=\n;/.0\0"[next_random() % 7]; break;
        default: buf[at] = buf[next_random() % len]; break;
        }
    }
}

static void fuzz(long iterations)
{
    static const char payload[] = "net=static\nip=10.0.2.15/24\ngw=10.0.2.2\nport=8080\nhostname=a-b\n\nbody";
    static const uint8_t table_seed[] = { 1, 27, 1, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 'a', 0, 'b', 0, 'e', 'x', 'o', 0, 0,
                                          127, 4, 0, 0, 0, 0 };
    for (long i = 0; i < iterations; i++) {
        struct exo_config c;
        uint8_t *block = malloc(CONFIG_BLOCK_BYTES);  /* exact size: ASan sees any overrun */
        memset(block, 0, CONFIG_BLOCK_BYTES);
        memcpy(block, "EXOCFG01", 8);
        uint32_t len = sizeof payload - 1;
        memcpy(block + 8, &len, 4);
        memcpy(block + 48, payload, len);
        mutate(block + 48, len);
        if (next_random() % 8) {  /* mostly a valid CRC, so the parser itself gets exercised */
            uint32_t crc = crc32(block + 48, len);
            memcpy(block + 12, &crc, 4);
        }
        if (next_random() % 16 == 0)
            mutate(block, 48);
        config_defaults(&c);
        config_apply_image(&c, block);
        free(block);

        size_t slen = 1 + next_random() % 40;
        char *serial = malloc(slen + 1);
        memcpy(serial, "exo:net=static;ip=10.0.2.15/24;gw=10.0.2.2;;", slen < 45 ? slen : 45);
        mutate((uint8_t *)serial, slen);
        serial[slen] = 0;
        config_defaults(&c);
        config_apply_smbios(&c, serial);
        free(serial);

        size_t tlen = next_random() % (sizeof table_seed + 1);
        uint8_t *table = malloc(tlen ? tlen : 1);
        memcpy(table, table_seed, tlen);
        if (tlen)
            mutate(table, tlen);
        smbios_type1_serial(table, tlen);
        free(table);
    }
    printf("result: fuzzed %ld\n", iterations);
}

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 16];
    struct exo_config c;
    config_defaults(&c);
    if (argc == 3 && !strcmp(argv[1], "block")) {
        uint8_t *block = calloc(1, CONFIG_BLOCK_BYTES);
        read_file(argv[2], block, CONFIG_BLOCK_BYTES);
        print_result(&c, config_apply_image(&c, block));
        free(block);
    } else if (argc == 3 && !strcmp(argv[1], "smbios")) {
        print_result(&c, config_apply_smbios(&c, argv[2]));
    } else if (argc == 3 && !strcmp(argv[1], "table")) {
        size_t n = read_file(argv[2], buf, sizeof buf);
        uint8_t *table = malloc(n ? n : 1);  /* exact size: ASan sees any overrun */
        memcpy(table, buf, n);
        const char *s = smbios_type1_serial(table, n);
        printf("result: %s\n", s ? s : "(none)");
        free(table);
    } else if (argc == 4 && !strcmp(argv[1], "fuzz")) {
        rng = (uint32_t)strtoul(argv[3], 0, 10) | 1;
        quiet = 1;
        fuzz(strtol(argv[2], 0, 10));
    } else {
        fprintf(stderr, "usage: config_check block FILE | smbios STRING | table FILE | fuzz N SEED\n");
        return 2;
    }
    return 0;
}
