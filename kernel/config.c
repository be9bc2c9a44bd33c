/* config.c — parse the configuration block and the SMBIOS serial (docs/boot-contract.md).
 *
 * Both are untrusted input: every read is bounded, every value checked, and a source is
 * applied only as a whole, so a malformed one leaves the configuration as it was. */
#include <string.h>
#include "config.h"

#define SMBIOS_PREFIX "exo:"
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_TYPE_END 127
#define SMBIOS_SYSTEM_SERIAL 7    /* offset of the serial number's string index */

void config_defaults(struct exo_config *c)
{
    memset(c, 0, sizeof *c);
    c->net.use_dhcp = 1;
    c->net.http_port = 80;
    c->net.hostname = c->hostname;
    c->net_source = "dhcp";
    memcpy(c->hostname, "exoform", 8);
    memcpy(c->content_type, CONFIG_CONTENT_TYPE_DEFAULT, sizeof CONFIG_CONTENT_TYPE_DEFAULT);
}

uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = ~0u;
    while (n--) {
        crc ^= *p++;
        for (int bit = 0; bit < 8; bit++)
            crc = crc >> 1 ^ (0xEDB88320 & -(crc & 1));
    }
    return ~crc;
}

static int token_is(const char *s, size_t n, const char *word)
{
    for (; n && *word; n--)
        if (*s++ != *word++)
            return 0;
    return !n && !*word;
}

/* Decimal number in [s, end), at most `max`; returns the end of the digits, or 0. */
static const char *parse_number(const char *s, const char *end, uint32_t max, uint32_t *out)
{
    const char *start = s;
    uint32_t v = 0;
    while (s < end && *s >= '0' && *s <= '9' && s - start < 6) {
        v = v * 10 + (uint32_t)(*s++ - '0');
        if (v > max)
            return 0;
    }
    *out = v;
    return s == start ? 0 : s;
}

/* Dotted quad in [s, end) → network-order address; returns the end of it, or 0. */
static const char *parse_ipv4(const char *s, const char *end, uint32_t *ip)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        uint32_t v;
        if (i && (s >= end || *s++ != '.'))
            return 0;
        if (!(s = parse_number(s, end, 255, &v)))
            return 0;
        b[i] = (uint8_t)v;
    }
    memcpy(ip, b, 4);
    return s;
}

/* Copy the value [v, end) into dst (room for max chars and a NUL) if it has 1 to max chars,
 * each [a-z0-9-] or, with `printable`, any of ' ' to '~' (never CR or LF: it goes into a header
 * line). Returns 0 when copied. */
static int copy_text(char *dst, size_t max, const char *v, const char *end, int printable)
{
    size_t len = (size_t)(end - v);
    if (!len || len > max)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (printable ? v[i] < ' ' || v[i] > '~'
                      : !((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
            return -1;
    memcpy(dst, v, len);
    dst[len] = 0;
    return 0;
}

/* One key=value setting. Returns 0 or the reason the source is invalid. `image_keys` allows
 * the keys only the image block may set. */
static const char *parse_setting(struct exo_config *c, const char *key, size_t klen, const char *v,
                                 const char *end, int image_keys)
{
    uint32_t n;
    if (token_is(key, klen, "net")) {
        if (token_is(v, (size_t)(end - v), "dhcp"))
            c->net.use_dhcp = 1;
        else if (token_is(v, (size_t)(end - v), "static"))
            c->net.use_dhcp = 0;
        else
            return "bad net";
    } else if (token_is(key, klen, "ip")) {
        if (!(v = parse_ipv4(v, end, &c->net.ip)) || !c->net.ip || v >= end || *v++ != '/' ||
            parse_number(v, end, 32, &n) != end)
            return "bad ip";
        c->net.prefix = (uint8_t)n;
    } else if (token_is(key, klen, "gw")) {
        if (parse_ipv4(v, end, &c->net.gw) != end || !c->net.gw)
            return "bad gw";
    } else if (image_keys && token_is(key, klen, "port")) {
        if (parse_number(v, end, 65535, &n) != end || !n)
            return "bad port";
        c->net.http_port = (uint16_t)n;
    } else if (image_keys && token_is(key, klen, "hostname")) {
        if (copy_text(c->hostname, CONFIG_HOSTNAME_MAX, v, end, 0))
            return "bad hostname";
    } else if (image_keys && token_is(key, klen, "content-type")) {
        if (copy_text(c->content_type, CONFIG_CONTENT_TYPE_MAX, v, end, 1))
            return "bad content-type";
    } else {
        char name[24];
        size_t len = klen < sizeof name - 1 ? klen : sizeof name - 1;
        for (size_t i = 0; i < len; i++)
            name[i] = key[i] > ' ' && key[i] < 127 ? key[i] : '?';  /* keep the console clean */
        name[len] = 0;
        net_logf("config: unknown key %s ignored", name);
    }
    return 0;
}

/* Settings in [s, end): "key=value" items ended by `sep`, the last one possibly by `end`.
 * Returns 0 or the reason. */
static const char *parse_settings(struct exo_config *c, const char *s, const char *end, char sep, int image_keys)
{
    while (s < end) {
        const char *item_end = s, *eq = 0;
        for (; item_end < end && *item_end != sep; item_end++)
            if (!eq && *item_end == '=')
                eq = item_end;
        if (item_end > s) {
            if (!eq)
                return "no '=' in a setting";
            const char *err = parse_setting(c, s, (size_t)(eq - s), eq + 1, item_end, image_keys);
            if (err)
                return err;
        }
        s = item_end + 1;
    }
    return 0;
}

/* Whole-source checks, then commit. */
static const char *commit(struct exo_config *c, struct exo_config *candidate, const char *source)
{
    if (!candidate->net.use_dhcp) {
        if (!candidate->net.ip)
            return "net=static without ip";
        if (candidate->net.gw && ((candidate->net.gw ^ candidate->net.ip) & net_prefix_mask(candidate->net.prefix)))
            return "gw not on the subnet";
    }
    candidate->net_source = candidate->net.use_dhcp ? "dhcp" : source;
    candidate->net.hostname = c->hostname;
    memcpy(c, candidate, sizeof *c);
    return 0;
}

const char *config_apply_image(struct exo_config *c, const uint8_t *block)
{
    struct exo_config t;
    uint32_t len, crc;
    memcpy(&t, c, sizeof t);
    memcpy(&len, block + 8, 4);
    memcpy(&crc, block + 12, 4);
    if (memcmp(block, "EXOCFG01", 8))
        return "bad magic";
    if (len > CONFIG_BLOCK_BYTES - CONFIG_HEADER_BYTES)
        return "bad length";
    if (crc32(block + CONFIG_HEADER_BYTES, len) != crc)
        return "bad crc";
    const char *p = (const char *)block + CONFIG_HEADER_BYTES, *end = p + len;
    const char *blank = p;  /* the settings end at the first empty line */
    while (blank < end && !(*blank == '\n' && (blank == p || blank[-1] == '\n')))
        blank++;
    if (blank == end)
        return "no blank line after the settings";
    const char *err = parse_settings(&t, p, blank, '\n', 1);
    if (err)
        return err;
    memcpy(t.build_id, block + 16, CONFIG_BUILD_ID_BYTES);
    t.body = (const uint8_t *)blank + 1;
    t.body_len = (uint16_t)(end - blank - 1);
    return commit(c, &t, "image");
}

const char *config_apply_smbios(struct exo_config *c, const char *serial)
{
    struct exo_config t;
    for (int i = 0; i < 4; i++)
        if (!serial || serial[i] != SMBIOS_PREFIX[i])
            return 0;  /* not ours */
    memcpy(&t, c, sizeof t);
    /* SMBIOS replaces the network settings as a whole: unset keys take their defaults. */
    t.net.use_dhcp = 1;
    t.net.ip = t.net.gw = 0;
    t.net.prefix = 0;
    serial += 4;
    const char *err = parse_settings(&t, serial, serial + strlen(serial), ';', 0);
    return err ? err : commit(c, &t, "smbios");
}

const char *smbios_type1_serial(const uint8_t *table, size_t len)
{
    const uint8_t *p = table, *end = table + len;
    while (end - p >= 4 && p[1] >= 4 && p[1] <= end - p) {
        /* The formatted area is followed by strings, ended by an empty one (two NULs). */
        const uint8_t *strings = p + p[1], *q = strings;
        while (end - q >= 2 && (q[0] || q[1]))
            q++;
        if (end - q < 2)
            return 0;
        if (p[0] == SMBIOS_TYPE_SYSTEM && p[1] > SMBIOS_SYSTEM_SERIAL && p[SMBIOS_SYSTEM_SERIAL]) {
            const uint8_t *s = strings;
            for (int index = p[SMBIOS_SYSTEM_SERIAL]; --index && s <= q;)
                s += strlen((const char *)s) + 1;
            return s <= q && *s ? (const char *)s : 0;
        }
        if (p[0] == SMBIOS_TYPE_END)
            return 0;
        p = q + 2;
    }
    return 0;
}
