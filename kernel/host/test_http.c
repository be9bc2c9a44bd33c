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
    CHECK(strcmp(text, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n") == 0);
    CHECK(!r.close);
}

static void test_head_root_has_length_but_no_body(void)
{
    CHECK(ask("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(strcmp(text, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n") == 0);
}

static void test_query_string_is_ignored(void)
{
    CHECK(ask("GET /?a=b HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 OK\r\n"));
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
    CHECK(starts("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "));
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
    CHECK(starts("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") && !r.close);
    CHECK(ask("GET /HEALTH HTTP/1.1\r\nHost: x\r\n\r\n"));      /* paths are case-sensitive */
    CHECK(starts("HTTP/1.1 404 "));
    CHECK(ask("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET") == 50);
    CHECK(starts("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n"));
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
        "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",       /* two Host lines */
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "\x16\x03\x01\x02\x10\x01\x01\x01\xfc\x03\x03\r\n",   /* TLS to a plain port */
    };
    unsigned i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t n = ask(bad[i]);
        if (!n || !starts("HTTP/1.1 400 Bad Request\r\n")) fprintf(stderr, "  request %u\n", i);
        CHECK(n == strlen(bad[i]));
        CHECK(starts("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
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
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    CHECK(ask_n(big, CAP) == CAP);
    CHECK(starts("HTTP/1.1 431 Request Header Fields Too Large\r\n") && r.close);
    CHECK(ask_n(big, CAP - 1) == 0);                     /* one byte short: may still end */
    memset(big, 'a', CAP);                               /* the request line has no end */
    memcpy(big, "GET /", 5);
    CHECK(ask_n(big, CAP) == CAP);
    CHECK(starts("HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n"));
    CHECK(r.close);

    n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", CAP);
    CHECK(ask_n(big, (size_t)n) == n);                   /* head + body would not fit */
    CHECK(starts("HTTP/1.1 413 Content Too Large\r\n") && r.close);
    n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    CHECK(ask_n(big, (size_t)n) == n);
    CHECK(starts("HTTP/1.1 413 "));
}

static void test_connection_header(void)
{
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nconnection: CLOSE\r\n\r\n"));
    CHECK(has("\r\nConnection: close\r\n") && r.close);
    CHECK(ask("GET / HTTP/1.0\r\n\r\n"));                /* 1.0 closes */
    CHECK(starts("HTTP/1.1 200 OK\r\n") && r.close && has("Connection: close"));
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
    CHECK(starts("HTTP/1.1 200 OK\r\n"));
}

static void test_timeout_is_408(void)
{
    http_timeout(&r);
    http_read(&r, 0, (uint8_t *)text, r.len);
    text[r.len] = 0;
    CHECK(starts("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    CHECK(r.close);
}


/* RFC 9112 3.2.2: a server MUST accept the absolute form of a target; its path names the
 * resource (an empty one is `/`), and the query is still ignored. */
static void test_absolute_form_target(void)
{
    CHECK(ask("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 OK\r\n") && has("hello\n"));
    CHECK(ask("GET http://10.0.0.5:80 HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 OK\r\n"));
    CHECK(ask("HEAD HTTP://x/health?a=/ HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
    CHECK(ask("GET http://x/nope HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 404 Not Found\r\n") && !r.close);
    CHECK(ask("GET x/ HTTP/1.1\r\nHost: x\r\n\r\n"));      /* no scheme: no resource */
    CHECK(starts("HTTP/1.1 404 "));
}

/* RFC 9112 6.3: Content-Length lines that agree are one length; lines that differ are the
 * framing a smuggled request hides behind: 400 and close (in test_malformed_... too). */
static void test_duplicate_content_length(void)
{
    static const char same[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                               "Content-Length: 2\r\n\r\nabGET";
    static const char differ[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                 "Content-Length: 5\r\n\r\nGET /";
    CHECK(ask(same) == sizeof same - 1 - 3);
    CHECK(starts("HTTP/1.1 200 OK\r\n") && !r.close);
    CHECK(ask(differ) == sizeof differ - 1);
    CHECK(starts("HTTP/1.1 400 Bad Request\r\n") && r.close);
}

/* RFC 9110 7.6.1: Connection is a list of options; "close" anywhere in it closes. */
static void test_connection_option_list(void)
{
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n"));
    CHECK(r.close && has("\r\nConnection: close\r\n"));
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade ,\tClose ,x\r\n\r\n"));
    CHECK(r.close);
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: closed, keep-alive\r\n\r\n"));
    CHECK(!r.close);
}

/* RFC 9110 10.1.1: a client sending Expect: 100-continue waits for an answer before its body;
 * it gets the final status at once, and the connection closes (the body is never read). A
 * body already here is read as usual; HTTP/1.0 ignores the expectation. */
static void test_expect_100_continue_is_answered_at_once(void)
{
    static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
                              "Content-Length: 5\r\n\r\n";
    static const char whole[] = "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                "Content-Length: 2\r\n\r\nab";
    CHECK(ask(req) == sizeof req - 1);
    CHECK(starts("HTTP/1.1 405 Method Not Allowed\r\n") && r.close && has("Connection: close"));
    CHECK(ask(whole) == sizeof whole - 1);
    CHECK(starts("HTTP/1.1 200 OK\r\n") && !r.close);
    CHECK(ask("GET / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n") == 0);
}

/* RFC 9112 6.1: a request body in a transfer coding (chunked) is not decoded here: 501, and
 * the connection closes, since where the next request starts is unknown. */
static void test_transfer_coding_is_501_and_closes(void)
{
    static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "2\r\nab\r\n0\r\n\r\n";
    CHECK(ask(req) == sizeof req - 1);
    CHECK(starts("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n"));
    CHECK(r.close);
}

/* The body of `/` carries the configured Content-Type; error responses have none. */
static void test_content_type_of_the_body(void)
{
    http_init((const uint8_t *)body, sizeof body - 1, "text/html; charset=utf-8", build_hex);
    CHECK(ask("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(starts("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 6\r\n"));
    CHECK(ask("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(!has("Content-Type"));
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
    http_init((const uint8_t *)body, sizeof body - 1, "text/plain", build_hex);
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
        {"414, 431 and 413", test_oversized},
        {"Connection header", test_connection_header},
        {"pipelined: one request at a time", test_pipelined_takes_one_request},
        {"leading CRLF, header whitespace", test_leading_empty_line_and_header_whitespace},
        {"408", test_timeout_is_408},
        {"absolute-form target", test_absolute_form_target},
        {"duplicate Content-Length", test_duplicate_content_length},
        {"Connection: a list of options", test_connection_option_list},
        {"Expect: 100-continue answered at once", test_expect_100_continue_is_answered_at_once},
        {"Transfer-Encoding: 501 and close", test_transfer_coding_is_501_and_closes},
        {"Content-Type of the body", test_content_type_of_the_body},
        {"counters", test_counters},
    };
    return run_tests("http", tests, sizeof tests / sizeof tests[0], before);
}
