/* http.c — HTTP/1.1 (RFC 9112) for exoform: GET and HEAD of `/` (the configured body) and
 * `/health` (JSON), 404/405 otherwise, 400 for malformed requests, 431/413 for requests larger
 * than TCP's receive buffer, 408 for slow ones.
 *
 * A request is parsed only once its head is complete in the buffer: the parser is one straight
 * scan without state between calls. Errors that leave the request's framing unknown (400, 408,
 * 413, 431) close the connection; 404 and 405 keep it.
 */
#include "net.h"
#include "http.h"

static const uint8_t *body;
static uint16_t body_len;
static const char *build;

/* The order is used: from ST_NOT_FOUND on the request counts as an error, from ST_BAD on the
 * connection closes after the answer. */
enum { ST_OK, ST_HEALTH, ST_NOT_FOUND, ST_METHOD, ST_BAD, ST_TIMEOUT, ST_TOO_LARGE,
       ST_HEAD_TOO_LARGE };

/* Per status: the code, then any header lines that go with it; NUL-separated, in the order
 * above. No reason phrases: RFC 9112 §4 makes them optional and clients ignore them. */
static const char status_text[] =
    "200 \0"
    "200 \r\nContent-Type: application/json\0"
    "404 \0"
    "405 \r\nAllow: GET, HEAD\0"
    "400 \0"
    "408 \0"
    "413 \0"
    "431 ";

#define R_HEAD 1        /* HEAD: headers only */
#define R_CLOSE 2       /* close after this response */

void http_init(const uint8_t *b, uint16_t len, const char *build_hex)
{
    body = b;
    body_len = len;
    build = build_hex;
}

/* Decimal digits of v at p; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
    if (v >= 10) p = put_u32(p, v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* The smallest printf: %s and %u take the next of args (a string pointer, a number).
 * NUL-terminates, returns the end. */
static char *fmt(char *p, const char *f, const uintptr_t *args)
{
    char ch;

    while ((ch = *f++)) {
        if (ch != '%') {
            *p++ = ch;
        } else if (*f++ == 'u') {
            p = put_u32(p, (uint32_t)*args++);
        } else {
            for (const char *s = (const char *)*args++; *s;) *p++ = *s++;
        }
    }
    *p = 0;
    return p;
}

static void respond(struct http_resp *r, unsigned status, unsigned how)
{
    char json[180];                     /* /health's JSON is at most 178 bytes */
    const char *st = status_text;
    uint32_t ip = net_ip(), drops, len = status == ST_OK ? body_len : 0;
    const uint8_t *a = (const uint8_t *)&ip;
    const uint32_t *d;

    net_stats.http_requests++;
    if (status >= ST_NOT_FOUND) net_stats.http_errors++;
    if (status >= ST_BAD) how |= R_CLOSE;
    for (unsigned i = status; i; i--) while (*st++) ;
    json[0] = 0;
    if (status == ST_HEALTH) {
        drops = net_stats.drop_ip_proto + net_stats.drop_tx;    /* and the run of drop_* below */
        for (d = &net_stats.drop_eth; d <= &net_stats.drop_noroute; d++) drops += *d;
        uintptr_t v[] = {(uintptr_t)build, plat_now_ms(), a[0], a[1], a[2], a[3],
                         net_stats.http_requests, drops};
        len = (uint32_t)(fmt(json, "{\"status\":\"ok\",\"build\":\"%s\",\"uptime_ms\":%u,"
                                   "\"ip\":\"%u.%u.%u.%u\",\"requests\":%u,\"drops\":%u}\n", v) - json);
    }
    uintptr_t h[] = {(uintptr_t)st, len,
                     (uintptr_t)(how & R_CLOSE ? "Connection: close\r\n" : ""),
                     (uintptr_t)(how & R_HEAD ? "" : json)};
    r->head_len = (uint16_t)(fmt(r->head, "HTTP/1.1 %s\r\nContent-Length: %u\r\n%s\r\n%s", h) - r->head);
    r->len = (uint16_t)(r->head_len + (status == ST_OK && !(how & R_HEAD) ? len : 0));
    r->close = how & R_CLOSE;
}

void http_timeout(struct http_resp *r)
{
    respond(r, ST_TIMEOUT, 0);
}

void http_read(const struct http_resp *r, uint16_t off, uint8_t *dst, uint16_t n)
{
    for (; n; n--, off++) *dst++ = off < r->head_len ? (uint8_t)r->head[off] : body[off - r->head_len];
}

/* Which word of `words` (NUL-terminated, the list ended by an empty one) is [s, e)? With
 * `fold`, ASCII capitals in [s, e) match lower case. The number of words when none is. */
static unsigned lookup(const uint8_t *s, const uint8_t *e, const char *words, int fold)
{
    unsigned i;

    for (i = 0; *words; i++) {
        const uint8_t *q = s;
        for (; q < e && *words; q++, words++) {
            uint8_t ch = *q;
            if (fold && (uint8_t)(ch - 'A') < 26) ch += 'a' - 'A';
            if (ch != (uint8_t)*words) break;
        }
        if (q == e && !*words) return i;
        while (*words++) ;
    }
    return i;
}

/* Out of line: it is called five times, and inlining it costs more than the calls. */
__attribute__((noinline)) static const uint8_t *find(const uint8_t *p, const uint8_t *e, uint8_t ch)
{
    while (p < e && *p != ch) p++;
    return p;
}

uint16_t http_request(const uint8_t *buf, uint16_t len, uint16_t cap, struct http_resp *r)
{
    const uint8_t *p = buf, *end = buf + len, *eol, *sp1 = 0, *sp2;
    unsigned status = ST_OK, how = 0, http11 = 0, host = 0, conn = 0;
    uint32_t clen = 0;

    for (;; p = eol + 2) {
        eol = find(p, end, '\n');
        if (eol == end) {                   /* the head is not complete yet */
            if (len < cap) return 0;
            status = ST_HEAD_TOO_LARGE;
            goto fail;
        }
        if (eol == p || *--eol != '\r') goto bad;      /* lines end in CRLF; eol is at CR */
        if (!sp1) {                         /* request line: METHOD SP target SP HTTP/1.x */
            if (p == eol) continue;         /* RFC 9112 §2.2: an empty line before it */
            sp1 = find(p, eol, ' ');
            sp2 = find(sp1 + 1, eol, ' ');
            http11 = lookup(sp2 + 1, eol, "HTTP/1.0\0HTTP/1.1\0", 0);
            if (http11 > 1) goto bad;
            how = lookup(p, sp1, "HEAD\0GET\0", 0);   /* 0 is R_HEAD */
            if (how > 1) status = ST_METHOD;
            else status += lookup(sp1 + 1, find(sp1 + 1, sp2, '?'), "/\0/health\0", 0);
            how = !how;
        } else if (p == eol) {              /* the empty line: end of the head */
            break;
        } else {                            /* field line: name ":" OWS value OWS */
            const uint8_t *colon = find(p, eol, ':'), *v = colon + 1, *ve = eol, *n;
            if (colon == p || colon == eol) goto bad;
            for (n = p; n < colon; n++)
                if (*n <= ' ') goto bad;    /* no space before the colon, no obs-fold */
            while (v < ve && *v <= ' ') v++;         /* OWS: SP, HTAB (controls are no better) */
            while (ve > v && ve[-1] <= ' ') ve--;
            switch (lookup(p, colon, "content-length\0connection\0host\0transfer-encoding\0", 1)) {
            case 0:
                if (v == ve) goto bad;
                for (clen = 0; v < ve; v++) {
                    if ((uint8_t)(*v - '0') > 9) goto bad;
                    if (clen < 0x10000) clen = clen * 10 + (uint32_t)(*v - '0');
                }
                break;
            case 1:
                conn = lookup(v, ve, "close\0", 1) == 0;
                break;
            case 2:
                host = 1;
                break;
            case 3:
                goto bad;                   /* no request bodies by chunks: framing unknown */
            }
        }
    }
    p = eol + 2;                            /* after the empty line */
    if (http11 && !host) goto bad;          /* RFC 9112 §3.2 */
    if (clen > (uint32_t)(buf + cap - p)) {
        status = ST_TOO_LARGE;
        goto fail;
    }
    if (p + clen > end) return 0;           /* the body is still coming */
    if (conn || !http11) how |= R_CLOSE;       /* keep-alive is 1.1's default; 1.0 closes */
    respond(r, status, how);
    return (uint16_t)(p + clen - buf);
bad:
    status = ST_BAD;
fail:
    respond(r, status, 0);
    return len;
}
