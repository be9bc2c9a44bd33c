/* http.c — HTTP/1.1 (RFC 9112, RFC 9110) for exoform: GET and HEAD of `/` (the configured body
 * and content type) and `/health` (JSON), 404/405 otherwise, 400 for malformed requests, 501
 * for request bodies in a transfer coding, 414/431/413 for requests larger than TCP's receive
 * buffer, 408 for slow ones.
 *
 * A request is parsed only once its head is complete in the buffer: the parser is one straight
 * scan without state between calls. Errors that leave the request's framing unknown (400, 408,
 * 413, 414, 431, 501) close the connection; 404 and 405 keep it.
 */
#include "net.h"
#include "http.h"

#define NO_LENGTH 0xFFFFFFFFu   /* no Content-Length line (yet) */

static const uint8_t *body;
static uint16_t body_len;
static const char *content_type, *build;

/* The order is used: from ST_NOT_FOUND on the request counts as an error, from ST_BAD on the
 * connection closes after the answer. */
enum { ST_OK, ST_HEALTH, ST_NOT_FOUND, ST_METHOD, ST_BAD, ST_NOT_IMPLEMENTED, ST_TIMEOUT,
       ST_TOO_LARGE, ST_URI_TOO_LONG, ST_HEAD_TOO_LARGE };

/* Per status: the status line's code and reason phrase (RFC 9110 15; clients such as h2load
 * count a response without one as failed), then any header lines that go with it;
 * NUL-separated, in the order above. */
static const char status_text[] =
    "200 OK\0"
    "200 OK\r\nContent-Type: application/json\0"
    "404 Not Found\0"
    "405 Method Not Allowed\r\nAllow: GET, HEAD\0"
    "400 Bad Request\0"
    "501 Not Implemented\0"
    "408 Request Timeout\0"
    "413 Content Too Large\0"
    "414 URI Too Long\0"
    "431 Request Header Fields Too Large";

#define R_HEAD 1        /* HEAD: headers only */
#define R_CLOSE 2       /* close after this response */

void http_init(const uint8_t *b, uint16_t len, const char *type, const char *build_hex)
{
    body = b;
    body_len = len;
    content_type = type;
    build = build_hex;
}

static void respond(struct http_resp *r, unsigned status, unsigned how)
{
    char json[180];                     /* /health's JSON is at most 178 bytes */
    const char *st = status_text;
    uint32_t drops = 0, len = status == ST_OK ? body_len : 0;

    net_stats.http_requests++;
    if (status >= ST_NOT_FOUND) net_stats.http_errors++;
    if (status >= ST_BAD) how |= R_CLOSE;
    for (unsigned i = status; i; i--) while (*st++) ;
    json[0] = 0;
    if (status == ST_HEALTH) {
        for (unsigned i = 0; i < NET_DROP_COUNTERS; i++) drops += net_stats.drops[i];
        len = (uint32_t)(net_format(json, sizeof json,
                                    "{\"status\":\"ok\",\"build\":\"%s\",\"uptime_ms\":%u,\"ip\":\"%I\","
                                    "\"requests\":%u,\"drops\":%u}\n",
                                    build, plat_now_ms(), net_ip(), net_stats.http_requests, drops) - json);
    }
    r->head_len = (uint16_t)(net_format(r->head, sizeof r->head,
                                        "HTTP/1.1 %s%s%s\r\nContent-Length: %u\r\n%s\r\n%s", st,
                                        status == ST_OK ? "\r\nContent-Type: " : "",
                                        status == ST_OK ? content_type : "", len,
                                        how & R_CLOSE ? "Connection: close\r\n" : "",
                                        how & R_HEAD ? "" : json) - r->head);
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

/* Out of line: it is called often, and inlining it costs more than the calls. */
__attribute__((noinline)) static const uint8_t *find(const uint8_t *p, const uint8_t *e, uint8_t ch)
{
    while (p < e && *p != ch) p++;
    return p;
}

/* Narrow [*s, *e) by the whitespace around it (OWS: SP, HTAB; controls are no better). */
static void trim(const uint8_t **s, const uint8_t **e)
{
    while (*s < *e && **s <= ' ') ++*s;
    while (*e > *s && (*e)[-1] <= ' ') --*e;
}

/* The resource the target [t, e) names: ST_OK for `/`, ST_HEALTH, else ST_NOT_FOUND. The query
 * is ignored; an absolute-form target (RFC 9112 3.2.2: `http://host/path`, which a server MUST
 * accept) names its path, and an empty path is `/`. */
static unsigned resource(const uint8_t *t, const uint8_t *e)
{
    e = find(t, e, '?');
    if (t < e && *t != '/') {
        const uint8_t *colon = find(t, e, ':');
        if (e - colon < 3 || colon[1] != '/' || colon[2] != '/') return ST_NOT_FOUND;
        t = find(colon + 3, e, '/');
        if (t == e) return ST_OK;
    }
    return lookup(t, e, "/\0/health\0", 0);
}

uint16_t http_request(const uint8_t *buf, uint16_t len, uint16_t cap, struct http_resp *r)
{
    const uint8_t *p = buf, *end = buf + len, *eol, *sp1 = 0, *sp2;
    unsigned status = ST_OK, how = 0, http11 = 0, hosts = 0, conn = 0, expect = 0;
    uint32_t clen = NO_LENGTH, n;

    for (;; p = eol + 2) {
        eol = find(p, end, '\n');
        if (eol == end) {                   /* the head is not complete yet */
            if (len < cap) return 0;
            /* RFC 9112 3: a request line that does not fit is a target too long to parse. */
            status = sp1 ? ST_HEAD_TOO_LARGE : ST_URI_TOO_LONG;
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
            status = how > 1 ? ST_METHOD : resource(sp1 + 1, sp2);
            how = !how;
        } else if (p == eol) {              /* the empty line: end of the head */
            break;
        } else {                            /* field line: name ":" OWS value OWS */
            const uint8_t *colon = find(p, eol, ':'), *v = colon + 1, *ve = eol, *t;
            if (colon == p || colon == eol) goto bad;
            for (t = p; t < colon; t++)
                if (*t <= ' ') goto bad;    /* no space before the colon, no obs-fold */
            trim(&v, &ve);
            switch (lookup(p, colon, "content-length\0connection\0host\0transfer-encoding\0expect\0", 1)) {
            case 0:
                if (v == ve) goto bad;
                for (n = 0; v < ve; v++) {
                    if ((uint8_t)(*v - '0') > 9) goto bad;
                    if (n < 0x10000) n = n * 10 + (uint32_t)(*v - '0');
                }
                /* RFC 9112 6.3: lengths that differ leave the framing unknown; taking either
                 * one is how requests are smuggled past a proxy. */
                if (clen != NO_LENGTH && n != clen) goto bad;
                clen = n;
                break;
            case 1:                         /* a list of options (RFC 9110 7.6.1) */
                for (; v < ve; v = t + 1) {
                    const uint8_t *te = t = find(v, ve, ',');
                    trim(&v, &te);
                    conn |= lookup(v, te, "close\0", 1) == 0;
                }
                break;
            case 2:
                if (hosts++) goto bad;      /* RFC 9112 3.2: more than one Host line */
                break;
            case 3:                         /* RFC 9112 6.1: a transfer coding we do not decode */
                status = ST_NOT_IMPLEMENTED;
                goto fail;
            case 4:
                expect = lookup(v, ve, "100-continue\0", 1) == 0;
                break;
            }
        }
    }
    p = eol + 2;                            /* after the empty line */
    if (http11 && !hosts) goto bad;         /* RFC 9112 §3.2 */
    if (clen == NO_LENGTH) clen = 0;
    if (clen > (uint32_t)(buf + cap - p)) {
        status = ST_TOO_LARGE;
        goto fail;
    }
    if (conn || !http11) how |= R_CLOSE;       /* keep-alive is 1.1's default; 1.0 closes */
    if (p + clen > end) {                   /* the body is still coming */
        /* RFC 9110 10.1.1: a client that waits for 100 (Continue) gets the final status now.
         * Its body will not be read, so the connection closes after it (1.0 ignores Expect). */
        if (!expect || !http11) return 0;
        respond(r, status, how | R_CLOSE);
        return len;
    }
    respond(r, status, how);
    return (uint16_t)(p + clen - buf);
bad:
    status = ST_BAD;
fail:
    respond(r, status, 0);
    return len;
}
