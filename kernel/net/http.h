/* http.h — the HTTP/1.1 server behind TCP: GET and HEAD on `/` and `/health`.
 *
 * HTTP never buffers a response. It writes the response head (and a generated body: /health's
 * JSON, an error text) into a struct http_resp that TCP keeps per connection; the body of `/`
 * is the static configured body. Any byte range of a response can therefore be regenerated
 * from its offset, which is how TCP retransmits without a send buffer.
 */
#ifndef EXO_HTTP_H
#define EXO_HTTP_H

#include <stdint.h>

#define HTTP_HEAD_MAX 320   /* status line + headers + the longest generated body (/health) */

struct http_resp {
    uint16_t head_len;      /* bytes in head[] */
    uint16_t len;           /* the whole response: head[] then the static body's first bytes */
    uint8_t close;          /* close the connection once this response is sent */
    char head[HTTP_HEAD_MAX];
};

/* Configure the server; called once after tcp_init. All stay owned by the caller and must not
 * change: `body` is the response to GET /, `content_type` its Content-Type (printable ASCII,
 * NUL-terminated, at most 127 chars), `build_hex` the image id (64 hex digits, NUL). */
void http_init(const uint8_t *body, uint16_t body_len, const char *content_type, const char *build_hex);

/* Answer the first request in buf[0..len), a receive buffer of `cap` bytes. Returns the bytes
 * the request took (its response is in *r), or 0 while it is incomplete and could still fit. */
uint16_t http_request(const uint8_t *buf, uint16_t len, uint16_t cap, struct http_resp *r);

/* The answer to a request that did not arrive in time: 408, then close. */
void http_timeout(struct http_resp *r);

/* Copy response bytes [off, off + n) to dst. */
void http_read(const struct http_resp *r, uint16_t off, uint8_t *dst, uint16_t n);

#endif
