/* test_tcp.c — TCP on the host: every state×event cell of the table, then the behaviours that
 * span several cells (retransmission, windows, options, the full table, timeouts).
 *
 * Segments go in as frames through net_input and come out as frames from the fake NIC.
 * tcp.c is included so a test can see a connection's state; nothing is called behind the
 * stack's back except the two cells no segment can reach (a timer with no connection). */
#include <string.h>
#include "../net/tcp.c"
#include "check.h"
#include "wire.h"

static const char get_root[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
static const char body[] = "<h1>exoform</h1>\n";
static const char build_hex[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* The client side of one connection, as the test drives it. */
struct peer {
    uint16_t port, dport;
    uint32_t snd;        /* the client's next sequence number */
    uint32_t rcv;        /* everything the server sent, FIN included: what a full ACK says */
    uint32_t acked;      /* what the client has acknowledged so far */
    uint16_t wnd;
};

static struct peer peer(uint16_t port)
{
    struct peer p = {port, WIRE_PORT, 1000u * port, 0, 0, 65535};
    return p;
}

static void send_seg(struct peer *p, uint8_t flags, uint32_t ack, const void *data, uint16_t len)
{
    struct wire_seg s = {0};

    s.src = WIRE_PEER_IP;
    s.dst = WIRE_US_IP;
    s.sport = p->port;
    s.dport = p->dport;
    s.seq = p->snd;
    s.ack = ack;
    s.flags = flags;
    s.wnd = p->wnd;
    s.len = len;
    memcpy(s.data, data, len);
    wire_send(&s);
    p->snd += len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

/* Send without acknowledging anything new; ack() acknowledges all the server sent. */
static void send_str(struct peer *p, uint8_t flags, const char *data)
{
    send_seg(p, flags, p->acked, data, (uint16_t)strlen(data));
}

static void ack(struct peer *p)
{
    p->acked = p->rcv;
    send_seg(p, TCP_ACK, p->acked, "", 0);
}

/* The next segment from the server, which must exist and be for p; its sequence space is
 * added to p->rcv when it is new. */
static struct wire_seg recv_seg(struct peer *p)
{
    struct wire_seg s;
    uint32_t end;

    CHECK(wire_recv(&s) == 1);
    CHECK(s.src == WIRE_US_IP && s.dst == WIRE_PEER_IP);
    CHECK(s.sport == p->dport && s.dport == p->port);
    end = s.seq + s.len + !!(s.flags & TCP_SYN) + !!(s.flags & TCP_FIN);
    if ((s.flags & TCP_SYN) || (!(s.flags & TCP_RST) && (int32_t)(end - p->rcv) > 0)) p->rcv = end;
    return s;
}

static int starts_with(const void *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void no_more(void)
{
    struct wire_seg s;
    int got = wire_recv(&s);

    if (got == 1)
        fprintf(stderr, "  unexpected: flags %#x seq %u ack %u len %u to port %u\n", s.flags,
                s.seq, s.ack, s.len, s.dport);
    CHECK(got == 0);
}

static struct tcb *tcb_of(const struct peer *p)
{
    struct tcb *c;

    for (c = tcbs; c < tcbs + TCP_CONNS; c++)
        if (c->state != CLOSED && c->rport == p->port) return c;
    return NULL;
}

static int state_of(const struct peer *p)
{
    struct tcb *c = tcb_of(p);
    return c ? c->state : CLOSED;
}

/* Read every segment the server sent and append their bytes to out (NUL-terminated). */
static unsigned recv_all(struct peer *p, char *out, size_t cap, uint8_t *flags_or)
{
    unsigned n = 0, total = 0;
    struct wire_seg s;
    int got;

    *flags_or = 0;
    while ((got = wire_recv(&s)) == 1) {
        CHECK(s.dport == p->port);
        if ((int32_t)(s.seq + s.len + !!(s.flags & TCP_FIN) - p->rcv) > 0)
            p->rcv = s.seq + s.len + !!(s.flags & TCP_FIN);
        CHECK(total + s.len < cap);
        memcpy(out + total, s.data, s.len);
        total += s.len;
        *flags_or |= s.flags;
        n++;
    }
    CHECK(got == 0);
    out[total] = 0;
    return n;
}

static void advance(uint32_t ms)
{
    host_now += ms;
    net_poll();
}

/* ---- Reaching each state (what the client sees is checked on the way) ---- */

/* SYN with `optlen` option bytes, then the SYN-ACK: the server keeps no state (a cookie). */
static void syn_with_options(struct peer *p, const uint8_t *opt, uint8_t optlen)
{
    struct wire_seg s = {0}, r;

    s.src = WIRE_PEER_IP, s.dst = WIRE_US_IP, s.sport = p->port, s.dport = WIRE_PORT;
    s.seq = p->snd, s.flags = TCP_SYN, s.wnd = p->wnd, s.optlen = optlen;
    if (optlen) memcpy(s.opt, opt, optlen);
    wire_send(&s);
    p->snd++;
    r = recv_seg(p);
    CHECK(r.flags == (TCP_SYN | TCP_ACK));
    CHECK(r.ack == p->snd);
    p->acked = p->rcv;              /* whatever the client sends now acknowledges our SYN */
    CHECK(r.optlen == 4 && r.opt[0] == TCP_OPT_MSS && rd16(r.opt + 2) == TCP_MSS);
    no_more();
    CHECK(state_of(p) == CLOSED);
}

static void to_syn_sent(struct peer *p)
{
    static const uint8_t mss[4] = {TCP_OPT_MSS, 4, 0x05, 0xb4};

    syn_with_options(p, mss, 4);
}

/* The client sends a bare segment with `flags`; the server answers with one segment with
 * `reply` flags (0: nothing) and is then in `state`. */
static void step(struct peer *p, uint8_t flags, uint8_t reply, int state)
{
    send_str(p, flags, "");
    if (reply) CHECK(recv_seg(p).flags == reply);
    no_more();
    CHECK(state_of(p) == state);
}

static void to_established(struct peer *p)
{
    to_syn_sent(p);
    step(p, TCP_ACK, 0, ESTABLISHED);
}

/* A request answered by one segment, left unacknowledged. */
static struct wire_seg request(struct peer *p, const char *req)
{
    struct wire_seg r;

    send_str(p, TCP_ACK | TCP_PSH, req);
    r = recv_seg(p);
    CHECK(r.len > 0 && r.ack == p->snd);
    no_more();
    return r;
}

/* The peer closed while our response was in flight. */
static void to_close_wait(struct peer *p)
{
    to_established(p);
    request(p, get_root);
    step(p, TCP_FIN | TCP_ACK, TCP_ACK, CLOSE_WAIT);
}

/* The peer closed an idle connection: we close at once. */
static void to_last_ack(struct peer *p)
{
    to_established(p);
    step(p, TCP_FIN | TCP_ACK, TCP_FIN | TCP_ACK, LAST_ACK);
}

/* "Connection: close": the response and our FIN go together, unacknowledged. */
static void to_fin_wait_1(struct peer *p)
{
    to_established(p);
    CHECK(request(p, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").flags ==
          (TCP_ACK | TCP_PSH | TCP_FIN));
    CHECK(state_of(p) == FIN_WAIT_1);
}

static void to_fin_wait_2(struct peer *p)
{
    to_fin_wait_1(p);
    p->acked = p->rcv;
    step(p, TCP_ACK, 0, FIN_WAIT_2);
}

/* Both FINs crossed: the peer's FIN acknowledges our data but not our FIN. */
static void to_closing(struct peer *p)
{
    to_fin_wait_1(p);
    p->acked = p->rcv - 1;
    step(p, TCP_FIN | TCP_ACK, TCP_ACK, CLOSING);
}

static void to_time_wait(struct peer *p)
{
    to_fin_wait_2(p);
    step(p, TCP_FIN | TCP_ACK, TCP_ACK, TIME_WAIT);
}

static void to_listen(struct peer *p) { (void)p; }

/* CLOSED: a port nobody listens on. */
static void to_closed(struct peer *p) { p->dport = WIRE_PORT + 1; }

/* ---- The table, cell by cell ---- */

struct cell {
    uint8_t state;
    void (*setup)(struct peer *);
    uint8_t ev;
    uint8_t out;         /* flags of the one segment the server answers with; 0: none */
    uint8_t next;        /* the state after */
};

#define SA (TCP_SYN | TCP_ACK)
#define A TCP_ACK
#define AP (TCP_ACK | TCP_PSH)
#define FA (TCP_FIN | TCP_ACK)
#define R TCP_RST
#define RA (TCP_RST | TCP_ACK)

static const struct cell cells[] = {
    {CLOSED, to_closed, EV_SYN, RA, CLOSED},
    {CLOSED, to_closed, EV_ACK, R, CLOSED},
    {CLOSED, to_closed, EV_DATA, R, CLOSED},
    {CLOSED, to_closed, EV_FIN, R, CLOSED},
    {CLOSED, to_closed, EV_RST, 0, CLOSED},
    {CLOSED, to_closed, EV_TIMEOUT, 0, CLOSED},
    {LISTEN, to_listen, EV_SYN, SA, CLOSED},
    {LISTEN, to_listen, EV_ACK, R, CLOSED},
    {LISTEN, to_listen, EV_DATA, R, CLOSED},
    {LISTEN, to_listen, EV_FIN, R, CLOSED},
    {LISTEN, to_listen, EV_RST, 0, CLOSED},
    {LISTEN, to_listen, EV_TIMEOUT, 0, CLOSED},
    {ESTABLISHED, to_established, EV_SYN, A, ESTABLISHED},
    {ESTABLISHED, to_established, EV_ACK, 0, ESTABLISHED},
    {ESTABLISHED, to_established, EV_DATA, AP, ESTABLISHED},
    {ESTABLISHED, to_established, EV_FIN, FA, LAST_ACK},
    {ESTABLISHED, to_established, EV_RST, 0, CLOSED},
    {ESTABLISHED, to_established, EV_TIMEOUT, FA, FIN_WAIT_1},
    {CLOSE_WAIT, to_close_wait, EV_SYN, A, CLOSE_WAIT},
    {CLOSE_WAIT, to_close_wait, EV_ACK, FA, LAST_ACK},
    {CLOSE_WAIT, to_close_wait, EV_DATA, 0, CLOSE_WAIT},
    {CLOSE_WAIT, to_close_wait, EV_FIN, 0, CLOSE_WAIT},
    {CLOSE_WAIT, to_close_wait, EV_RST, 0, CLOSED},
    {CLOSE_WAIT, to_close_wait, EV_TIMEOUT, AP, CLOSE_WAIT},
    {LAST_ACK, to_last_ack, EV_SYN, A, LAST_ACK},
    {LAST_ACK, to_last_ack, EV_ACK, 0, CLOSED},
    {LAST_ACK, to_last_ack, EV_DATA, 0, LAST_ACK},
    {LAST_ACK, to_last_ack, EV_FIN, 0, LAST_ACK},
    {LAST_ACK, to_last_ack, EV_RST, 0, CLOSED},
    {LAST_ACK, to_last_ack, EV_TIMEOUT, FA, LAST_ACK},
    {FIN_WAIT_1, to_fin_wait_1, EV_SYN, A, FIN_WAIT_1},
    {FIN_WAIT_1, to_fin_wait_1, EV_ACK, 0, FIN_WAIT_2},
    {FIN_WAIT_1, to_fin_wait_1, EV_DATA, A, FIN_WAIT_1},
    {FIN_WAIT_1, to_fin_wait_1, EV_FIN, A, CLOSING},
    {FIN_WAIT_1, to_fin_wait_1, EV_RST, 0, CLOSED},
    {FIN_WAIT_1, to_fin_wait_1, EV_TIMEOUT, AP | TCP_FIN, FIN_WAIT_1},
    {CLOSING, to_closing, EV_SYN, A, CLOSING},
    {CLOSING, to_closing, EV_ACK, 0, TIME_WAIT},
    {CLOSING, to_closing, EV_DATA, 0, CLOSING},
    {CLOSING, to_closing, EV_FIN, 0, CLOSING},
    {CLOSING, to_closing, EV_RST, 0, CLOSED},
    {CLOSING, to_closing, EV_TIMEOUT, FA, CLOSING},
    {FIN_WAIT_2, to_fin_wait_2, EV_SYN, A, FIN_WAIT_2},
    {FIN_WAIT_2, to_fin_wait_2, EV_ACK, 0, FIN_WAIT_2},
    {FIN_WAIT_2, to_fin_wait_2, EV_DATA, A, FIN_WAIT_2},
    {FIN_WAIT_2, to_fin_wait_2, EV_FIN, A, TIME_WAIT},
    {FIN_WAIT_2, to_fin_wait_2, EV_RST, 0, CLOSED},
    {FIN_WAIT_2, to_fin_wait_2, EV_TIMEOUT, R, CLOSED},
    {TIME_WAIT, to_time_wait, EV_SYN, SA, CLOSED},
    {TIME_WAIT, to_time_wait, EV_ACK, 0, TIME_WAIT},
    {TIME_WAIT, to_time_wait, EV_DATA, 0, TIME_WAIT},
    {TIME_WAIT, to_time_wait, EV_FIN, 0, TIME_WAIT},
    {TIME_WAIT, to_time_wait, EV_RST, 0, CLOSED},
    {TIME_WAIT, to_time_wait, EV_TIMEOUT, 0, CLOSED},
};

static void fire(struct peer *p, uint8_t state, uint8_t ev)
{
    switch (ev) {
    case EV_SYN: send_str(p, TCP_SYN, ""); break;
    case EV_ACK: ack(p); break;
    case EV_DATA: send_str(p, TCP_ACK | TCP_PSH, get_root); break;
    case EV_FIN: send_str(p, TCP_FIN | TCP_ACK, ""); break;
    case EV_RST: send_str(p, TCP_RST, ""); break;
    case EV_TIMEOUT:
        if (state == CLOSED || state == LISTEN) {   /* no connection, so no timer: the cell */
            struct seg s = {.ev = EV_TIMEOUT};     /* can only be reached from here */
            tcp_dispatch(NULL, &s, state);
        } else {
            advance(IDLE_MS);                       /* past every timer */
        }
        break;
    }
}

static void run_cell(const struct cell *c)
{
    struct peer p = peer(40000);

    c->setup(&p);
    CHECK(state_of(&p) == c->state || c->state == CLOSED || c->state == LISTEN);
    fire(&p, c->state, c->ev);
    if (c->out) {
        struct wire_seg s = recv_seg(&p);
        if (s.flags != c->out) fprintf(stderr, "  flags %#x, expected %#x\n", s.flags, c->out);
        CHECK(s.flags == c->out);
    }
    no_more();
    CHECK(state_of(&p) == c->next);
}

static void test_every_cell_of_the_table(void)
{
    static const char *const sn[] = {"CLOSED", "LISTEN", "ESTABLISHED", "CLOSE_WAIT",
                                     "LAST_ACK", "FIN_WAIT_1", "CLOSING", "FIN_WAIT_2", "TIME_WAIT"};
    static const char *const en[] = {"SYN", "ACK", "DATA", "FIN", "RST", "TIMEOUT"};
    unsigned i, failed = 0, seen[TCP_STATES][TCP_EVENTS] = {{0}};
    jmp_buf outer;

    memcpy(outer, check_jmp, sizeof outer);
    for (i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        seen[cells[i].state][cells[i].ev]++;
        wire_init(i + 1, 0);
        if (setjmp(check_jmp) == 0) {
            run_cell(&cells[i]);
        } else {
            fprintf(stderr, "  cell %s x %s failed\n", sn[cells[i].state], en[cells[i].ev]);
            failed++;
        }
    }
    memcpy(check_jmp, outer, sizeof outer);
    for (i = 0; i < TCP_STATES * TCP_EVENTS; i++) CHECK(seen[i / TCP_EVENTS][i % TCP_EVENTS] == 1);
    CHECK(failed == 0);
}

/* ---- Behaviours across cells ---- */

static void test_bad_checksum_is_dropped(void)
{
    struct wire_seg s = {0};

    s.src = WIRE_PEER_IP, s.dst = WIRE_US_IP, s.sport = 1234, s.dport = WIRE_PORT;
    s.flags = TCP_SYN;
    s.bad_csum = 1;
    wire_send(&s);
    no_more();
    CHECK(net_stats.drop_tcp == 1);
    s.bad_csum = 0;
    wire_send(&s);
    CHECK(wire_recv(&s) == 1 && s.flags == SA);
}

static void test_syn_options(void)
{
    /* Linux's SYN: MSS, SACK-permitted, timestamps, NOP, window scale. We answer with the MSS
     * option only, so neither timestamps, SACK nor scaling is in use. */
    static const uint8_t linux_opts[20] = {2, 4, 0x02, 0x18, 4, 2, 8, 10, 0, 0, 0, 1,
                                           0, 0, 0, 0, 1, 3, 3, 7};
    /* The MSS after NOPs, timestamps and an unknown kind with a length (RFC 9293 §3.1). */
    static const uint8_t mss_last[20] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
                                         99, 4, 7, 7, 2, 4, 0x05, 0xb4};
    /* A zero length must not loop; an MSS after EOL is not an option. */
    static const uint8_t malformed[4] = {8, 0, 2, 4}, after_eol[8] = {0, 0, 0, 0, 2, 4, 5, 0xb4};
    static const struct {
        const uint8_t *opt;
        uint8_t len;
        uint16_t mss;
    } cases[] = {
        {linux_opts, 20, 536}, {mss_last, 20, TCP_MSS}, {malformed, 4, TCP_DEFAULT_MSS},
        {after_eol, 8, TCP_DEFAULT_MSS}, {NULL, 0, TCP_DEFAULT_MSS},
    };

    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct peer p = peer((uint16_t)(2000 + i));
        syn_with_options(&p, cases[i].opt, cases[i].len);
        step(&p, TCP_ACK, 0, ESTABLISHED);
        if (tcb_of(&p)->mss != cases[i].mss)
            fprintf(stderr, "  case %u: mss %u, expected %u\n", i, tcb_of(&p)->mss, cases[i].mss);
        CHECK(tcb_of(&p)->mss == cases[i].mss);
    }
}

static void test_isn_is_random(void)
{
    struct peer a = peer(3000), b = peer(3001);
    uint32_t isn_a, isn_b;

    to_syn_sent(&a);
    to_syn_sent(&b);
    isn_a = a.rcv - 1;
    isn_b = b.rcv - 1;
    CHECK(isn_a != isn_b);
    wire_init(99, 0);                                      /* another seed, another ISN */
    a = peer(3000);
    to_syn_sent(&a);
    CHECK(a.rcv - 1 != isn_a);
}

static void test_request_split_over_three_segments(void)
{
    struct peer p = peer(4000);
    char got[2048];
    uint8_t fl;

    to_established(&p);
    send_str(&p, TCP_ACK, "GET / HT");
    CHECK(recv_seg(&p).len == 0);                       /* acknowledged, no answer yet */
    send_str(&p, TCP_ACK, "TP/1.1\r\nHo");
    CHECK(recv_seg(&p).len == 0);
    send_str(&p, TCP_ACK | TCP_PSH, "st: t\r\n\r\n");
    CHECK(recv_all(&p, got, sizeof got, &fl) == 1);
    CHECK(starts_with(got, "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(got, "\r\n\r\n<h1>exoform</h1>\n") != NULL);
}

static void test_keep_alive_serves_requests_in_turn(void)
{
    struct peer p = peer(4100);
    int i;

    to_established(&p);
    for (i = 0; i < 3; i++) {
        struct wire_seg r = request(&p, get_root);
        CHECK(starts_with((char *)r.data, "HTTP/1.1 200 "));
        ack(&p);
        no_more();
    }
    CHECK(state_of(&p) == ESTABLISHED);
    CHECK(net_stats.http_requests == 3);
}

static void test_pipelined_requests_answered_in_order(void)
{
    struct peer p = peer(4200);
    char reqs[256];
    struct wire_seg r;

    to_established(&p);
    snprintf(reqs, sizeof reqs, "%s%s%s", get_root, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
             "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    r = request(&p, reqs);
    CHECK(starts_with((char *)r.data, "HTTP/1.1 200 "));
    ack(&p);
    r = recv_seg(&p);                                   /* the next one once the first is acked */
    CHECK(starts_with((char *)r.data, "HTTP/1.1 404 "));
    no_more();
    ack(&p);
    r = recv_seg(&p);
    CHECK(starts_with((char *)r.data, "HTTP/1.1 200 "));
    CHECK(strstr((char *)r.data, "\r\n\r\n") + 4 == (char *)r.data + r.len);   /* HEAD: no body */
    ack(&p);
    no_more();
}

/* A body larger than the peer's MSS goes out in several segments, as far as the window allows;
 * a lost segment is regenerated byte for byte from the static body. */
static uint8_t big_body[3000];

static void test_large_body_segments_window_and_retransmission(void)
{
    struct peer p = peer(4300);
    struct wire_seg s1, s2, again;
    unsigned i;

    for (i = 0; i < sizeof big_body; i++) big_body[i] = (uint8_t)('a' + i % 26);
    http_init(big_body, sizeof big_body, "text/plain", build_hex);
    p.wnd = 2000;                                       /* room for less than the response */
    to_established(&p);
    tcb_of(&p)->mss = 1000;
    send_str(&p, TCP_ACK | TCP_PSH, get_root);
    s1 = recv_seg(&p);
    s2 = recv_seg(&p);
    no_more();
    CHECK(s1.len == 1000 && s2.len == 1000 && s2.seq == s1.seq + 1000);
    advance(RTO_MS);                                    /* nothing acked: resend from the start */
    again = recv_seg(&p);
    CHECK(again.seq == s1.seq && again.len == s1.len && memcmp(again.data, s1.data, 1000) == 0);
    recv_seg(&p);
    no_more();
    p.acked = s2.seq + s2.len;                          /* acknowledge both: the rest goes */
    send_seg(&p, TCP_ACK, p.acked, "", 0);
    {
        struct wire_seg s3 = recv_seg(&p), s4;
        uint16_t head = (uint16_t)(strstr((char *)s1.data, "\r\n\r\n") + 4 - (char *)s1.data);
        CHECK(s3.seq == p.acked && s3.len == 1000);
        s4 = recv_seg(&p);
        CHECK(s4.len == head + sizeof big_body - 3000);
        CHECK(memcmp(s4.data + s4.len - 26, big_body + sizeof big_body - 26, 26) == 0);
        CHECK(s4.flags & TCP_PSH);
    }
    no_more();
}

static void test_retransmission_backs_off_then_gives_up(void)
{
    struct peer p = peer(4400);
    uint32_t waits[RETRIES + 1], i, t0;

    to_established(&p);
    request(&p, get_root);                              /* never acknowledged */
    t0 = host_now;
    for (i = 0; i <= RETRIES; i++) {                    /* when does each timeout fire? */
        uint32_t start = host_now;
        while (!host_tx_pending()) advance(10);
        waits[i] = host_now - start;
        CHECK(recv_seg(&p).flags == (i < RETRIES ? AP : R));
    }
    for (i = 0; i <= RETRIES; i++) CHECK(waits[i] == (uint32_t)RTO_MS << i);
    CHECK(state_of(&p) == CLOSED);
    CHECK(host_now - t0 == (uint32_t)RTO_MS * ((2u << RETRIES) - 1));
}

static void test_zero_window_gets_a_probe(void)
{
    struct peer p = peer(4500);
    struct wire_seg r;

    to_established(&p);
    p.wnd = 0;
    send_str(&p, TCP_ACK | TCP_PSH, get_root);
    r = recv_seg(&p);
    CHECK(r.len == 1 && r.data[0] == 'H');              /* one byte into the closed window */
    no_more();
    advance(RTO_MS);
    r = recv_seg(&p);
    CHECK(r.len == 1);
    p.wnd = 65535;
    p.acked = r.seq + 1;
    send_seg(&p, TCP_ACK, p.acked, "", 0);              /* window opens: the rest follows */
    r = recv_seg(&p);
    CHECK(r.seq == p.acked && starts_with(r.data, "TTP/1.1 200 OK\r\n"));
    CHECK(memcmp(r.data + r.len - 17, body, 17) == 0);
}

/* RFC 1122 §4.2.2.17: a zero window may stay closed indefinitely while the peer acknowledges
 * our probes; the probes back off but the connection is not reset. */
static void test_zero_window_held_while_probes_are_acknowledged(void)
{
    struct peer p = peer(4550);
    struct wire_seg r;
    uint32_t t0, probe;

    to_established(&p);
    p.wnd = 0;
    send_str(&p, TCP_ACK | TCP_PSH, get_root);
    r = recv_seg(&p);
    CHECK(r.len == 1);
    probe = r.seq;
    for (t0 = host_now; host_now - t0 < 120000;) {      /* two minutes of a closed window */
        advance(100);
        while (wire_recv(&r) == 1) {
            CHECK(r.flags == AP && r.len == 1 && r.seq == probe);   /* a probe, never a RST */
            send_seg(&p, TCP_ACK, probe, "", 0);         /* "got nothing, window still 0" */
        }
    }
    CHECK(state_of(&p) == ESTABLISHED);
    p.wnd = 65535;
    send_seg(&p, TCP_ACK, probe + 1, "", 0);             /* takes the probe, opens the window */
    r = recv_seg(&p);
    CHECK(r.seq == probe + 1 && starts_with(r.data, "TTP/1.1 200 OK\r\n"));
}

static void test_out_of_order_and_old_segments_are_acknowledged(void)
{
    struct peer p = peer(4600);
    struct wire_seg r;
    uint32_t next;

    to_established(&p);
    next = p.snd;
    p.snd += 5;                                         /* a gap before it */
    send_str(&p, TCP_ACK, "later");
    r = recv_seg(&p);
    CHECK(r.flags == A && r.ack == next);               /* a duplicate ACK, nothing buffered */
    CHECK(tcb_of(&p)->rx_len == 0);
    p.snd = next - 3;                                   /* old bytes and new ones: trimmed */
    send_str(&p, TCP_ACK, "xxxGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    r = recv_seg(&p);
    CHECK(starts_with((char *)r.data, "HTTP/1.1 200 "));
    ack(&p);
    p.snd -= 4;                                         /* all old: only an ACK */
    send_str(&p, TCP_ACK, "\r\n\r\n");
    r = recv_seg(&p);
    CHECK(r.flags == A && r.len == 0);
    no_more();
}

/* RFC 5961 §3.2: a RST exactly at rcv_nxt resets; elsewhere in the window it gets a challenge
 * ACK, at most one per CHALLENGE_MS (§7); outside the window it is dropped silently. */
static void test_rst_in_window_challenged_outside_dropped(void)
{
    struct peer p = peer(4700);
    uint32_t good;
    int i;

    to_established(&p);
    good = p.snd;
    p.snd = good - 1000000;                             /* far outside the window: nothing */
    send_str(&p, TCP_RST, "");
    p.snd = good + TCP_RX_BUF;                          /* just past it: nothing */
    send_str(&p, TCP_RST, "");
    no_more();
    CHECK(state_of(&p) == ESTABLISHED);
    for (i = 0; i < 10; i++) {                          /* in the window, not exact */
        p.snd = good + 100;
        send_str(&p, TCP_RST, "");
    }
    CHECK(recv_seg(&p).flags == A);                     /* one challenge ACK for all ten */
    no_more();
    advance(CHALLENGE_MS);
    p.snd = good + 100;
    send_str(&p, TCP_RST, "");
    CHECK(recv_seg(&p).flags == A);
    CHECK(state_of(&p) == ESTABLISHED);
    p.snd = good;
    send_str(&p, TCP_RST, "");
    no_more();
    CHECK(state_of(&p) == CLOSED);
}

/* Challenge ACKs for SYNs on a connection are rate-limited too (RFC 5961 §4, §7). */
static void test_syn_challenge_acks_are_rate_limited(void)
{
    struct peer p = peer(4750);
    int i;

    to_established(&p);
    for (i = 0; i < 20; i++) send_seg(&p, TCP_SYN, 0, "", 0);
    CHECK(recv_seg(&p).flags == A);
    no_more();
    CHECK(state_of(&p) == ESTABLISHED);
}

static void test_bad_acks(void)
{
    struct peer p = peer(4800);
    struct wire_seg r;

    to_syn_sent(&p);
    send_seg(&p, TCP_ACK, p.rcv + 7, "", 0);           /* not our cookie: RST, no connection */
    r = recv_seg(&p);
    CHECK(r.flags == R && r.seq == p.rcv + 7);
    CHECK(state_of(&p) == CLOSED);
    ack(&p);
    CHECK(state_of(&p) == ESTABLISHED);
    send_seg(&p, TCP_ACK, p.rcv + 50, "", 0);          /* acknowledges the future: ACK, drop */
    r = recv_seg(&p);
    CHECK(r.flags == A && r.seq == p.rcv);
    send_seg(&p, TCP_FIN, p.rcv, "", 0);               /* no ACK bit: dropped */
    no_more();
    CHECK(state_of(&p) == ESTABLISHED);
}

static void test_request_timeout_is_408_and_not_extended_by_trickling(void)
{
    struct peer p = peer(4900);
    char got[1024];
    uint8_t fl;
    int i;

    to_established(&p);
    for (i = 0; i < 5; i++) {                           /* a byte every 500 ms */
        send_str(&p, TCP_ACK, "G");
        CHECK(recv_seg(&p).len == 0);
        advance(500);
        no_more();
    }
    advance(REQUEST_MS - 2500);
    recv_all(&p, got, sizeof got, &fl);
    CHECK(starts_with(got, "HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(strstr(got, "Connection: close\r\n") != NULL);
    CHECK(fl & TCP_FIN);
    CHECK(state_of(&p) == FIN_WAIT_1);
}

static void test_idle_keep_alive_is_closed(void)
{
    struct peer p = peer(5000);

    to_established(&p);
    request(&p, get_root);
    ack(&p);
    advance(IDLE_MS - 1);
    no_more();
    advance(1);
    CHECK(recv_seg(&p).flags == FA);
    CHECK(state_of(&p) == FIN_WAIT_1);
}

static void test_oversized_request_is_431_and_closes(void)
{
    struct peer p = peer(5100);
    char chunk[600];
    char got[1024];
    uint8_t fl;

    memset(chunk, 'a', sizeof chunk - 1);
    chunk[sizeof chunk - 1] = 0;
    memcpy(chunk, "GET / HTTP/1.1\r\nX: ", 19);        /* a header line without end */
    to_established(&p);
    send_str(&p, TCP_ACK, chunk);
    CHECK(recv_seg(&p).len == 0);
    send_str(&p, TCP_ACK, chunk);                       /* fills the buffer: 1024 of 1198 taken */
    recv_all(&p, got, sizeof got, &fl);
    CHECK(starts_with(got, "HTTP/1.1 431 "));
    CHECK(fl & TCP_FIN);
    CHECK(state_of(&p) == FIN_WAIT_1);
}

static void test_time_wait_is_bounded(void)
{
    struct peer p = peer(5200);

    to_time_wait(&p);
    advance(TIME_WAIT_MS - 1);
    CHECK(state_of(&p) == TIME_WAIT);
    advance(1);
    CHECK(state_of(&p) == CLOSED);
    no_more();
}

/* A full table makes room from idle keep-alive connections (the oldest first, reset); when
 * every connection is busy the handshake's last ACK is dropped, counted, and the connection
 * made once the client retransmits. */
static void test_full_table(void)
{
    struct peer ps[TCP_CONNS], late = peer(7000), refused = peer(7001);
    unsigned i;

    for (i = 0; i < TCP_CONNS; i++) {
        ps[i] = peer((uint16_t)(6000 + i));
        to_established(&ps[i]);
        request(&ps[i], get_root);
        ack(&ps[i]);                                    /* answered: idle between requests */
        host_now++;                                     /* ps[0] is the oldest */
    }
    to_syn_sent(&late);
    ack(&late);
    CHECK(recv_seg(&ps[0]).flags == R);                 /* the oldest idle one is reset */
    no_more();
    CHECK(state_of(&ps[0]) == CLOSED && state_of(&late) == ESTABLISHED);
    ps[0] = late;

    for (i = 0; i < TCP_CONNS; i++) {                   /* everyone busy with a request */
        send_str(&ps[i], TCP_ACK, "GET");
        CHECK(recv_seg(&ps[i]).len == 0);
    }
    to_syn_sent(&refused);                              /* the SYN is answered: no state */
    send_str(&refused, TCP_ACK | TCP_PSH, get_root);    /* no room: dropped, no RST */
    no_more();
    CHECK(net_stats.drop_tcp_full == 1 && state_of(&refused) == CLOSED);

    advance(REQUEST_MS);                                /* the slow ones get 408 and our FIN */
    for (i = 0; i < TCP_CONNS; i++) CHECK(recv_seg(&ps[i]).flags & TCP_FIN);
    no_more();
    refused.snd -= sizeof get_root - 1;                 /* a FIN in flight is not idle */
    send_str(&refused, TCP_ACK | TCP_PSH, get_root);
    no_more();
    CHECK(net_stats.drop_tcp_full == 2);

    ack(&ps[5]);                                        /* FIN_WAIT_2: idle, may go */
    CHECK(state_of(&ps[5]) == FIN_WAIT_2);
    refused.snd -= sizeof get_root - 1;                 /* the client's retransmission */
    send_str(&refused, TCP_ACK | TCP_PSH, get_root);
    CHECK(recv_seg(&ps[5]).flags == R);
    CHECK(starts_with(recv_seg(&refused).data, "HTTP/1.1 200 "));
    CHECK(state_of(&refused) == ESTABLISHED);
}

/* A burst of new connections beyond the table: a connection whose request has not come yet
 * is not idle, so none is reset to make room; the extra handshakes are dropped and complete
 * when the clients retransmit. */
static void test_burst_never_resets_a_new_connection(void)
{
    struct peer ps[TCP_CONNS + 8];
    unsigned i;

    for (i = 0; i < TCP_CONNS + 8; i++) {               /* every handshake completes first */
        ps[i] = peer((uint16_t)(6500 + i));
        to_syn_sent(&ps[i]);
        ack(&ps[i]);
    }
    no_more();                                          /* no RST to anyone */
    CHECK(net_stats.drop_tcp_full == 8);
    for (i = 0; i < TCP_CONNS; i++) {                   /* then the requests: all served */
        CHECK(state_of(&ps[i]) == ESTABLISHED);
        CHECK(starts_with(request(&ps[i], "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").data,
                          "HTTP/1.1 200 "));
        ack(&ps[i]);
        send_str(&ps[i], TCP_FIN | TCP_ACK, "");
        CHECK(recv_seg(&ps[i]).flags == A);             /* TIME_WAIT */
    }
    for (i = TCP_CONNS; i < TCP_CONNS + 8; i++) {       /* the late ones retransmit their request */
        send_str(&ps[i], TCP_ACK | TCP_PSH, get_root);
        CHECK(starts_with(recv_seg(&ps[i]).data, "HTTP/1.1 200 "));
    }
}

/* Server-side TIME_WAIT ("Connection: close") never blocks a new connection: a full table of
 * them gives up a slot silently (no RST), and never a busy connection's. */
static void test_time_wait_slots_are_reused_silently(void)
{
    struct peer ps[TCP_CONNS], next = peer(7100);
    unsigned i;

    for (i = 0; i < TCP_CONNS; i++) {
        ps[i] = peer((uint16_t)(6100 + i));
        if (i % 2) {
            to_time_wait(&ps[i]);
        } else {                                        /* half of them busy with a request */
            to_established(&ps[i]);
            send_str(&ps[i], TCP_ACK, "GET");
            CHECK(recv_seg(&ps[i]).len == 0);
        }
    }
    to_established(&next);                              /* no RST to anyone */
    for (i = 0; i < TCP_CONNS; i += 2) CHECK(state_of(&ps[i]) == ESTABLISHED);
    CHECK(net_stats.drop_tcp_full == 0);
    CHECK(starts_with(request(&next, get_root).data, "HTTP/1.1 200 "));
}

/* A SYN flood from a thousand spoofed addresses (off-link, answered through the gateway)
 * takes no connection slot (SYN cookies): a real client that comes during the flood, and the
 * connection already open, are served. */
static void test_syn_flood_takes_no_slot(void)
{
    struct peer old = peer(7200), real = peer(7201);
    struct wire_seg s = {0}, r;
    unsigned i, answered = 0, used = 0;
    struct tcb *c;

    to_established(&old);
    net_if.gw = WIRE_PEER_IP;                           /* the peer routes for the spoofed */
    s.dst = WIRE_US_IP, s.dport = WIRE_PORT, s.flags = TCP_SYN, s.wnd = 1024;
    for (i = 0; i < 1000; i++) {
        s.src = 0x00000cc6U + (i << 16);                /* 198.12.x.y: off our subnet */
        s.sport = (uint16_t)(1024 + i), s.seq = i * 7919u;
        wire_send(&s);
        if (i == 500) {                                 /* the real client, mid-flood */
            while (wire_recv(&r) == 1) answered += r.flags == SA;
            to_established(&real);
        }
        while (wire_recv(&r) == 1) answered += r.flags == SA;
        host_now += 1;
    }
    CHECK(answered == 1000);
    for (c = tcbs; c < tcbs + TCP_CONNS; c++) used += c->state != CLOSED;
    CHECK(used == 2);
    CHECK(starts_with(request(&real, get_root).data, "HTTP/1.1 200 "));
    CHECK(starts_with(request(&old, get_root).data, "HTTP/1.1 200 "));
}

static void test_health_over_tcp(void)
{
    struct peer p = peer(5300);
    struct wire_seg r;

    to_established(&p);
    r = request(&p, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    r.data[r.len] = 0;
    CHECK(strstr((char *)r.data, "Content-Type: application/json\r\n") != NULL);
    CHECK(strstr((char *)r.data, "\"build\":\"0123456789abcdef") != NULL);
    CHECK(strstr((char *)r.data, "\"ip\":\"10.0.0.5\"") != NULL);
    CHECK(strstr((char *)r.data, "\"requests\":1,") != NULL);
}

static void before(void)
{
    wire_init(1, 0);
    http_init((const uint8_t *)body, sizeof body - 1, "text/plain", build_hex);
}

int main(void)
{
    static const struct test tests[] = {
        {"every cell of the table", test_every_cell_of_the_table},
        {"bad checksum is dropped", test_bad_checksum_is_dropped},
        {"SYN options", test_syn_options},
        {"ISN is random", test_isn_is_random},
        {"request split over three segments", test_request_split_over_three_segments},
        {"keep-alive serves requests in turn", test_keep_alive_serves_requests_in_turn},
        {"pipelined requests answered in order", test_pipelined_requests_answered_in_order},
        {"large body: segments, window, retransmission",
         test_large_body_segments_window_and_retransmission},
        {"retransmission backs off then gives up", test_retransmission_backs_off_then_gives_up},
        {"zero window gets a probe", test_zero_window_gets_a_probe},
        {"zero window held while probes are acknowledged",
         test_zero_window_held_while_probes_are_acknowledged},
        {"out-of-order and old segments", test_out_of_order_and_old_segments_are_acknowledged},
        {"RST: in window challenged, outside dropped", test_rst_in_window_challenged_outside_dropped},
        {"SYN challenge ACKs are rate-limited", test_syn_challenge_acks_are_rate_limited},
        {"bad ACKs", test_bad_acks},
        {"408, not extended by trickling", test_request_timeout_is_408_and_not_extended_by_trickling},
        {"idle keep-alive is closed", test_idle_keep_alive_is_closed},
        {"oversized request is 431", test_oversized_request_is_431_and_closes},
        {"TIME_WAIT is bounded", test_time_wait_is_bounded},
        {"full table", test_full_table},
        {"TIME_WAIT slots are reused silently", test_time_wait_slots_are_reused_silently},
        {"a burst never resets a new connection", test_burst_never_resets_a_new_connection},
        {"SYN flood takes no slot", test_syn_flood_takes_no_slot},
        {"/health over TCP", test_health_over_tcp},
    };
    return run_tests("tcp", tests, sizeof tests / sizeof tests[0], before);
}
