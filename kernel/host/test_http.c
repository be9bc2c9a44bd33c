/* test_http.c — the HTTP parser and responses, called directly (no TCP in between). */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "http.h"
#include "wire.h"

#define CAP 1024

static const char body[] = "hello\n";
static const char build_hex[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static struct http_resp r;
static char text[HTTP_HEAD_MAX + 64];

/* Parse req; returns the bytes taken and leaves the whole response in text. */
static uint16_t ask_n(const char *req, size_t len)
{
    uint16_t n;

    memset(&r, 0xa5, sizeof r);
    n = http_request((const uint8_t *)req, (uint16_t)len, CAP, &r);
    if (n) {
        CHECK(r.len >= r.head_len && r.len < sizeof text);
        http_read(&r, 0, (uint8_t *)text, r.len);
        text[r.len] = 0;
    }
    return n;
}

static uint16_t ask(const char *req) { return ask_n(req, strlen(req)); }

static int starts(const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }
static int has(const char *part) { return strstr(text, part) != NULL; }

static void test_get_root(void)
{
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(ask(req) == strlen(req));
    CHECK(strcmp(text, "HTTP/1.1 200 \r\nContent-Length: 6\r\n\r\nhello\n") == 0);
    CHECK(!r.close);
}

static void test_head_root_has_length_but_no_body(void)
{
    CHECK(ask("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(strcmp(text, "HTTP/1.1 200 \r\nContent-Length: 6\r\n\r\n") == 0);
}

static void test_query_string_is_ignored(void)
{
    CHECK(ask("GET /?a=b HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 \r\n"));
    CHECK(ask("GET /health?x HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(has("application/json"));
}

static void test_health_json(void)
{
    char *json;
    host_now = 123456;
    net_stats.drop_eth = 2;
    net_stats.drop_tcp = 3;
    net_stats.drop_tx = 1;
    CHECK(ask("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 \r\nContent-Type: application/json\r\nContent-Length: "));
    json = strstr(text, "\r\n\r\n") + 4;
    CHECK(strcmp(json, "{\"status\":\"ok\",\"build\":\"00112233445566778899aabbccddeeff"
                       "00112233445566778899aabbccddeeff\",\"uptime_ms\":123456,"
                       "\"ip\":\"10.0.0.5\",\"requests\":1,\"drops\":6}\n") == 0);
    CHECK(atoi(strstr(text, "Content-Length: ") + 16) == (int)strlen(json));
}

static void test_health_largest_values_fit(void)
{
    unsigned i;
    host_now = 0xffffffff;
    net_stats.http_requests = 0xfffffff0;
    net_stats.drop_eth = 0xffffffff;                     /* drops: 10 digits as well */
    CHECK(ask("GET /health HTTP/1.0\r\n\r\n"));
    CHECK(has("\"uptime_ms\":4294967295,") && has("\"drops\":4294967295}"));
    CHECK(has("Connection: close\r\n"));
    CHECK(r.head_len <= HTTP_HEAD_MAX);
    for (i = 0; i < 3; i++) CHECK(ask("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(!has("{"));
}

static void test_not_found_and_method_not_allowed_keep_the_connection(void)
{
    CHECK(ask("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n") && !r.close);
    CHECK(ask("GET /HEALTH HTTP/1.1\r\nHost: x\r\n\r\n"));      /* paths are case-sensitive */
    CHECK(starts("HTTP/1.1 404 "));
    CHECK(ask("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET") == 50);
    CHECK(starts("HTTP/1.1 405 \r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n"));
    CHECK(!r.close);
    CHECK(ask("get / HTTP/1.1\r\nHost: x\r\n\r\n"));             /* methods too */
    CHECK(starts("HTTP/1.1 405 "));
}

static void test_malformed_requests_are_400_and_close(void)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\nHost: x\n\n",                   /* bare LF */
        "GET /\r\n\r\n",                                 /* HTTP/0.9 */
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",            /* space before the colon */
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",   /* obs-fold */
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",                        /* 1.1 without Host */
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        "\x16\x03\x01\x02\x10\x01\x01\x01\xfc\x03\x03\r\n",   /* TLS to a plain port */
    };
    unsigned i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t n = ask(bad[i]);
        if (!n || !starts("HTTP/1.1 400 \r\n")) fprintf(stderr, "  request %u\n", i);
        CHECK(n == strlen(bad[i]));
        CHECK(starts("HTTP/1.1 400 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        CHECK(r.close);
    }
}

static void test_incomplete_requests_wait(void)
{
    static const char full[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody";
    size_t i;

    for (i = 0; i < sizeof full - 1; i++) CHECK(ask_n(full, i) == 0);
    CHECK(ask_n(full, sizeof full - 1) == sizeof full - 1);
    CHECK(ask("") == 0);
}

static void test_oversized(void)
{
    static char big[CAP + 1];
    int n;

    memset(big, 'a', CAP);                               /* a full buffer, no end of head */
    memcpy(big, "GET /", 5);
    CHECK(ask_n(big, CAP) == CAP);
    CHECK(starts("HTTP/1.1 431 \r\n") && r.close);
    CHECK(ask_n(big, CAP - 1) == 0);                     /* one byte short: may still end */

    n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", CAP);
    CHECK(ask_n(big, (size_t)n) == n);                   /* head + body would not fit */
    CHECK(starts("HTTP/1.1 413 \r\n") && r.close);
    n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    CHECK(ask_n(big, (size_t)n) == n);
    CHECK(starts("HTTP/1.1 413 "));
}

static void test_connection_header(void)
{
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nconnection: CLOSE\r\n\r\n"));
    CHECK(has("\r\nConnection: close\r\n") && r.close);
    CHECK(ask("GET / HTTP/1.0\r\n\r\n"));                /* 1.0 closes */
    CHECK(starts("HTTP/1.1 200 \r\n") && r.close && has("Connection: close"));
    CHECK(ask("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    CHECK(r.close);
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(!r.close && !has("Connection:"));
}

static void test_pipelined_takes_one_request(void)
{
    static const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(ask(two) == 28);
    CHECK(starts("HTTP/1.1 404 "));
    CHECK(ask(two + 28) == sizeof two - 1 - 28);
    CHECK(starts("HTTP/1.1 200 "));
}

static void test_leading_empty_line_and_header_whitespace(void)
{
    static const char req[] = "\r\nGET / HTTP/1.1\r\nHOST:\t x \t\r\nX-Y: a:b\r\n\r\n";
    CHECK(ask(req) == sizeof req - 1);
    CHECK(starts("HTTP/1.1 200 \r\n"));
}

static void test_timeout_is_408(void)
{
    http_timeout(&r);
    http_read(&r, 0, (uint8_t *)text, r.len);
    text[r.len] = 0;
    CHECK(starts("HTTP/1.1 408 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    CHECK(r.close);
}

static void test_counters(void)
{
    ask("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ask("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    ask("BAD\r\n\r\n");
    CHECK(net_stats.http_requests == 3 && net_stats.http_errors == 2);
}

static void before(void)
{
    wire_init(1, 0);
    http_init((const uint8_t *)body, sizeof body - 1, build_hex);
}

int main(void)
{
    static const struct test tests[] = {
        {"GET /", test_get_root},
        {"HEAD / has a length, no body", test_head_root_has_length_but_no_body},
        {"query string ignored", test_query_string_is_ignored},
        {"/health JSON", test_health_json},
        {"/health with the largest values fits", test_health_largest_values_fit},
        {"404 and 405 keep the connection", test_not_found_and_method_not_allowed_keep_the_connection},
        {"malformed requests: 400 and close", test_malformed_requests_are_400_and_close},
        {"incomplete requests wait", test_incomplete_requests_wait},
        {"431 and 413", test_oversized},
        {"Connection header", test_connection_header},
        {"pipelined: one request at a time", test_pipelined_takes_one_request},
        {"leading CRLF, header whitespace", test_leading_empty_line_and_header_whitespace},
        {"408", test_timeout_is_408},
        {"counters", test_counters},
    };
    return run_tests("http", tests, sizeof tests / sizeof tests[0], before);
}
