/* config.h — the kernel's configuration: the image's configuration block and the SMBIOS serial
 * number (formats in docs/boot-contract.md). Pure parsing, no hardware access: it builds on a
 * host for unit tests and fuzzing (test/kernel/host/). */
#ifndef EXO_CONFIG_H
#define EXO_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "net/net.h"

#define CONFIG_BLOCK_BYTES 4096
#define CONFIG_HEADER_BYTES 48
#define CONFIG_BUILD_ID_BYTES 32
#define CONFIG_HOSTNAME_MAX 63
#define CONFIG_CONTENT_TYPE_MAX 127
#define CONFIG_CONTENT_TYPE_DEFAULT "text/plain; charset=utf-8"

struct exo_config {
    struct net_config net;      /* network settings; net.mac is the driver's to fill */
    const char *net_source;     /* "smbios", "image" or "dhcp": who decided net.* */
    uint8_t build_id[CONFIG_BUILD_ID_BYTES];
    const uint8_t *body;        /* HTTP body for "/", inside the block */
    uint16_t body_len;
    char hostname[CONFIG_HOSTNAME_MAX + 1];
    char content_type[CONFIG_CONTENT_TYPE_MAX + 1];  /* of the body, NUL-terminated */
};

/* DHCP, port 80, hostname "exoform", empty body of CONFIG_CONTENT_TYPE_DEFAULT, all-zero build
 * id. */
void config_defaults(struct exo_config *c);

/* Apply a configuration block (CONFIG_BLOCK_BYTES readable at `block`). Returns 0 when applied,
 * else the reason it was ignored as a whole (c unchanged). Unknown keys are logged, not fatal. */
const char *config_apply_image(struct exo_config *c, const uint8_t *block);

/* Apply an SMBIOS serial number: "exo:net=static;ip=a.b.c.d/n;gw=a.b.c.d". Returns 0 when
 * applied or when the serial is not ours (no "exo:" prefix), else the reason it was ignored. */
const char *config_apply_smbios(struct exo_config *c, const char *serial);

/* The type 1 (System Information) serial number in an SMBIOS structure table of `len` bytes,
 * or 0. The returned string lies inside the table and is NUL-terminated there. */
const char *smbios_type1_serial(const uint8_t *table, size_t len);

/* CRC-32 (IEEE 802.3), as zlib's crc32(0, p, n). */
uint32_t crc32(const uint8_t *p, size_t n);

#endif
