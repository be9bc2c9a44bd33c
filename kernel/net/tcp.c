/* tcp.c — TCP for exoform's HTTP server (RFC 9293), passive open on one port only.
 *
 * The state machine is a table, one row per state and one handler per event (picoTCP's
 * layout). Each segment is classified into exactly one event (RST, else SYN, else FIN, else
 * data, else a bare ACK), checked against the receive window, then handed to its cell; an
 * expired timer is one more event. Every cell is unit-tested on the host (kernel/host/).
 *
 * Handshakes keep no state: every SYN is answered with a SYN cookie (RFC 4987 §3.6) as our
 * initial sequence number, and the connection is created from the ACK that returns it. Our
 * SYN-ACK offers no option but the MSS, so a cookie loses nothing a connection here would use
 * (no window scaling, SACK or timestamps), and a SYN flood costs no table slot: real clients
 * are served through it. A lost SYN-ACK is recovered by the client resending its SYN.
 *
 * Connections live in a fixed table. When it is full, a new one takes the slot of a TIME_WAIT
 * connection (silently), else of the idle connection nearest its timeout (keep-alive between
 * requests, FIN_WAIT_2), which is reset; a connection with a request or a response under way
 * is never given up. With every connection busy, the handshake's ACK is dropped and the
 * client's retransmission retries it.
 *
 * Sending: at most one HTTP response is in flight per connection and its bytes are never
 * buffered: http_read() regenerates any range from its offset, so retransmission (go-back-N
 * from the oldest unacknowledged byte, doubling the timeout) needs no send buffer. No
 * congestion window: a response is a few segments, inside RFC 6928's initial window.
 * Receiving: in-order bytes only (others are dropped and acknowledged) into a buffer sized for
 * one request; the window we advertise is its free space.
 */
#include <string.h>
#include "stack.h"
#include "http.h"
#include "proto/ip.h"
#include "proto/tcp.h"

#define TCP_CONNS 64
#define TCP_RX_BUF 1024         /* one request: HTTP answers 431/413 beyond */
#define TCP_MSS 1460            /* a 1500-byte MTU less the IPv4 and TCP headers */
#define TCP_MIN_MSS 64          /* a tiny peer MSS would multiply our segments */
#define TCP_DEFAULT_MSS 536     /* RFC 9293 §3.7.1: the SYN had no MSS option */
#define RTO_MS 250              /* first retransmission timeout, doubled at each retry */
#define RTO_MAX_MS 60000        /* doubling stops here (zero-window probes go on at this pace) */
#define RETRIES 5               /* then the peer is gone: 250 + 500 + … + 8000 ms */
#define CHALLENGE_MS 500        /* at most one challenge ACK per connection this often */
#define COOKIE_PERIOD_SHIFT 16  /* a SYN cookie is good for this period (65 s) and the next */
#define REQUEST_MS 3000         /* a started request must be complete within this: 408 */
#define IDLE_MS 10000           /* keep-alive between requests; also FIN_WAIT_2 */
#define TIME_WAIT_MS 2000       /* bounded 2×MSL: the table must not fill with the dead */

/* LISTEN and CLOSED have no table entry: they are where a segment that matches no connection
 * goes, by its destination port. There is no SYN_RCVD: handshakes are stateless (SYN cookies). */
enum { CLOSED, LISTEN, ESTABLISHED, CLOSE_WAIT,
       LAST_ACK, FIN_WAIT_1, CLOSING, FIN_WAIT_2, TIME_WAIT, TCP_STATES };
enum { EV_SYN, EV_ACK, EV_DATA, EV_FIN, EV_RST, EV_TIMEOUT, TCP_EVENTS };

/* States in which our FIN is queued or sent. */
#define FIN_QUEUED (1u << LAST_ACK | 1u << FIN_WAIT_1 | 1u << CLOSING | 1u << FIN_WAIT_2 | \
                    1u << TIME_WAIT)

/* The transitions that are not a handler's own: the peer's FIN, and the ACK of ours. */
static const uint8_t after_peer_fin[TCP_STATES] = {
    [ESTABLISHED] = CLOSE_WAIT, [FIN_WAIT_1] = CLOSING, [FIN_WAIT_2] = TIME_WAIT,
};
static const uint8_t after_fin_acked[TCP_STATES] = {
    [LAST_ACK] = CLOSED, [FIN_WAIT_1] = FIN_WAIT_2, [CLOSING] = TIME_WAIT,
};

/* Sequence number order, modulo 2^32 (RFC 9293 §3.4; lwIP's TCP_SEQ_LT and friends). */
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)

struct tcb {
    uint8_t state, retries;
    uint16_t rport;                 /* host order */
    uint32_t raddr;                 /* network order */
    uint32_t snd_una, snd_nxt;      /* oldest unacknowledged and next new sequence numbers */
    uint32_t rcv_nxt;
    uint32_t resp_seq;              /* sequence number of the current response's first byte */
    uint32_t timer_at;              /* retransmission while unacknowledged, else idle/request */
    uint32_t challenge_at;          /* no challenge ACK before then (RFC 5961 §7) */
    uint16_t mss, wnd, rto, rx_len; /* peer's MSS and window; current timeout; bytes in rx */
    struct http_resp resp;
    uint8_t rx[TCP_RX_BUF];
};

static struct tcb tcbs[TCP_CONNS];
static uint16_t listen_port;
static uint32_t now;
static uint64_t cookie_secret;

/* The MSS a SYN cookie can carry, in its two low bits: the largest not above the peer's. */
static const uint16_t cookie_mss[4] = {TCP_MIN_MSS, TCP_DEFAULT_MSS, 1300, TCP_MSS};

/* The segment being handled, parsed once by tcp_input and handed down as a pointer; a timer
 * is an EV_TIMEOUT with no segment fields. */
struct seg {
    uint32_t src, seq, ack;
    uint16_t sport, dport, wnd, len, mss;
    uint8_t flags, ev;
    const uint8_t *data;
};

static uint8_t out[sizeof(struct tcp_hdr) + TCP_MSS];

/* One segment to dst; `n` payload bytes are already at out + 20. ports = sport << 16 | dport
 * (they are adjacent on the wire), ctl = flags << 16 | window. */
static void tcp_emit(uint32_t dst, uint32_t ports, uint32_t seq, uint32_t ack, uint32_t ctl, uint16_t n)
{
    struct tcp_hdr *h = (struct tcp_hdr *)out;
    uint16_t len = sizeof *h + n;

    wr32(h->sport, ports);
    wr32(h->seq, seq);
    wr32(h->ack, ack);
    h->off = 5 << 4;
    h->flags = (uint8_t)(ctl >> 16);
    wr16(h->win, (uint16_t)ctl);
    wr32(h->csum, 0);               /* and the urgent pointer */
    if (h->flags & TCP_SYN) {       /* our one option, on the SYN-ACK: the MSS we accept */
        h->off = 6 << 4;
        out[20] = TCP_OPT_MSS;
        out[21] = 4;
        wr16(out + 22, TCP_MSS);
        len += 4;
    }
    wr16(h->csum, inet_checksum(out, len, ip_pseudo_sum(net_ip(), dst, IP_PROTO_TCP, len)));
    ip_output(dst, IP_PROTO_TCP, out, len);
}

static void tcb_emit(const struct tcb *c, uint32_t seq, uint8_t flags, uint16_t n)
{
    tcp_emit(c->raddr, (uint32_t)listen_port << 16 | c->rport, seq, c->rcv_nxt,
             (uint32_t)flags << 16 | (TCP_RX_BUF - c->rx_len), n);
}

/* The timer for what the connection waits for now. */
static void tcb_arm(struct tcb *c)
{
    c->timer_at = now + (c->snd_una != c->snd_nxt ? c->rto
                         : c->state == TIME_WAIT ? TIME_WAIT_MS
                         : c->rx_len ? REQUEST_MS : IDLE_MS);
}

/* Send from `seq`: response bytes and then our FIN, as far as the peer's window allows (a zero
 * window still gets one byte: the probe). With nothing to send, a bare ACK if `force`. */
static void tcb_send(struct tcb *c, uint32_t seq, int force)
{
    uint32_t end = c->resp_seq + c->resp.len;
    uint32_t lim = c->snd_una + (c->wnd ? c->wnd : 1);
    int was_idle = c->snd_una == c->snd_nxt;

    for (;;) {
        uint8_t flags = TCP_ACK;
        int32_t n = (int32_t)(end - seq);     /* response bytes left from seq */

        if (n > c->mss) n = c->mss;
        if (n > (int32_t)(lim - seq)) n = (int32_t)(lim - seq);
        if (n < 0) n = 0;
        if (n) flags |= TCP_PSH;
        if ((FIN_QUEUED >> c->state & 1) && seq + (uint32_t)n == end) flags |= TCP_FIN;
        if (flags == TCP_ACK && !force) break;
        http_read(&c->resp, (uint16_t)(seq - c->resp_seq), out + sizeof(struct tcp_hdr), (uint16_t)n);
        tcb_emit(c, seq, flags, (uint16_t)n);
        seq += (uint32_t)n + (flags & TCP_FIN);
        if (SEQ_GT(seq, c->snd_nxt)) c->snd_nxt = seq;
        if (!n || (flags & TCP_FIN)) break;
        force = 0;
    }
    if (was_idle && c->snd_una != c->snd_nxt) tcb_arm(c);
}

/* Acknowledge now. */
static void tcb_ack(struct tcb *c)
{
    tcb_send(c, c->snd_nxt, 1);
}

/* A challenge ACK (RFC 5961 §3.2, §4, §5), at most one per CHALLENGE_MS per connection (§7;
 * per connection as Linux's tcp_invalid_ratelimit, so no shared counter leaks across them). */
static void tcb_challenge(struct tcb *c)
{
    if (!time_reached(now, c->challenge_at)) return;
    c->challenge_at = now + CHALLENGE_MS;
    tcb_ack(c);
}

/* Reset the connection and free its slot. */
static void tcb_kill(struct tcb *c)
{
    tcb_emit(c, c->snd_nxt, TCP_RST, 0);
    c->state = CLOSED;
}

/* We are done with the connection: queue our FIN after the response. */
static void tcb_close(struct tcb *c)
{
    c->state = c->state == CLOSE_WAIT ? LAST_ACK : FIN_WAIT_1;
    c->rx_len = 0;
}

/* A response is in c->resp: it starts at the next sequence number. */
static void tcb_respond(struct tcb *c)
{
    c->resp_seq = c->snd_nxt;
    if (c->resp.close) tcb_close(c);
}

/* HTTP's turn. Once the last response is fully acknowledged, answer the next buffered request;
 * with none complete and the peer done sending, close. */
static void tcb_app(struct tcb *c)
{
    uint16_t n;

    if ((FIN_QUEUED >> c->state & 1) || c->snd_una != c->resp_seq + c->resp.len) return;
    n = http_request(c->rx, c->rx_len, TCP_RX_BUF, &c->resp);
    if (n) {
        c->rx_len -= n;
        memmove(c->rx, c->rx + n, c->rx_len);
        tcb_respond(c);
    } else if (c->state == CLOSE_WAIT) {
        tcb_close(c);
    }
}

/* A free slot, else one given up to make room. TIME_WAIT goes first and silently: its only
 * duty, acknowledging a repeated FIN, is as well done by the RST a repeated FIN gets without
 * it, and a cookie-checked handshake cannot be confused with the old connection. Else the idle
 * connection nearest its timeout: one that has been answered and has nothing in flight and no
 * request started (keep-alive between requests, FIN_WAIT_2), reset. A connection still
 * waiting for its first request is not idle: its request may be on the wire. NULL when every
 * connection is busy. */
static struct tcb *tcb_alloc(void)
{
    struct tcb *c, *victim = 0;

    for (c = tcbs; c < tcbs + TCP_CONNS; c++) {
        if (c->state == CLOSED || c->state == TIME_WAIT) return c;
        if (c->resp.len && c->snd_una == c->snd_nxt && !c->rx_len &&
            (!victim || SEQ_LT(c->timer_at, victim->timer_at)))
            victim = c;
    }
    if (victim) tcb_kill(victim);
    return victim;
}

/* The SYN's MSS option, wherever it is among the options (RFC 9293 §3.1, §3.7.1): EOL ends
 * the list, NOP is one byte, every other kind has a length byte. Without it (or with a
 * malformed list) the RFC default. (cookie_mss clamps it to what we can use.) */
static uint16_t syn_mss(const uint8_t *o, const uint8_t *end)
{
    uint16_t mss = TCP_DEFAULT_MSS;

    while (o < end && *o != TCP_OPT_END) {
        if (*o == TCP_OPT_NOP) {
            o++;
            continue;
        }
        if (end - o < 2 || o[1] < 2 || o[1] > end - o) break;
        if (*o == TCP_OPT_MSS && o[1] == 4) mss = rd16(o + 2);
        o += o[1];
    }
    return mss;
}

/* A SYN cookie for the peer's address, port and initial sequence number in time period
 * `period`: a keyed hash (multiply-xorshift, 64-bit secret from plat_random), then the
 * period's parity in bit 2 (so the ACK names its period) and two bits left for the MSS index.
 * Not cryptographic; guessing one blindly takes about 2^29 tries. */
static uint32_t syn_cookie(const struct seg *s, uint32_t peer_isn, uint32_t period)
{
    uint32_t w[3] = {s->src, (uint32_t)s->sport << 16 ^ period, peer_isn};
    uint64_t h = cookie_secret;

    for (unsigned i = 0; i < 3; i++) {
        h = (h ^ w[i]) * 0x9E3779B97F4A7C15u;
        h ^= h >> 29;
    }
    return ((uint32_t)(h >> 32) & ~7u) | (period & 1) << 2;
}

/* The ACK field, in every synchronized state: advance, take the window, restart the timer;
 * the ACK of our FIN moves the state on. Returns 0 when the segment must go no further. */
static int ack_in(struct tcb *c, const struct seg *s)
{
    if (SEQ_GT(s->ack, c->snd_nxt)) {               /* acknowledges what we never sent */
        tcb_challenge(c);
        return 0;
    }
    c->wnd = s->wnd;
    if (SEQ_LEQ(s->ack, c->snd_una)) {              /* a duplicate: nothing new */
        /* With the window closed this answers our probe: the peer is alive, so the probes go
         * on for as long as it answers (RFC 1122 §4.2.2.17). */
        if (!c->wnd) c->retries = 0;
        return 1;
    }
    c->snd_una = s->ack;
    c->retries = 0;
    c->rto = RTO_MS;
    if ((FIN_QUEUED >> c->state & 1) && c->snd_una == c->resp_seq + c->resp.len + 1) {
        c->state = after_fin_acked[c->state];
        if (c->state == CLOSED) return 0;
    }
    tcb_arm(c);
    return 1;
}

/* In-order bytes: into the request buffer in ESTABLISHED, discarded once we are closing.
 * What does not fit is left for the peer to resend, and so is a FIN behind it. */
static void data_in(struct tcb *c, struct seg *s)
{
    uint16_t n = s->len;

    if (c->state == ESTABLISHED) {
        if (n > TCP_RX_BUF - c->rx_len) n = TCP_RX_BUF - c->rx_len;
        if (!c->rx_len && n && c->snd_una == c->snd_nxt) c->timer_at = now + REQUEST_MS;
        memcpy(c->rx + c->rx_len, s->data, n);
        c->rx_len += n;
    }
    c->rcv_nxt += n;
    if (n < s->len) s->flags &= (uint8_t)~TCP_FIN;
}

static void tcp_dispatch(struct tcb *c, struct seg *s, uint8_t state);

/* Nothing to do: a RST where there is no connection, a timer where there is none. */
static void h_drop(struct tcb *c, struct seg *s)
{
    (void)c, (void)s;
}

/* No connection for the segment, or an ACK that does not fit it: answer with a RST shaped so
 * the peer accepts it (RFC 9293 §3.10.7.1). */
static void h_reset(struct tcb *c, struct seg *s)
{
    uint32_t seg_len = s->len + ((s->flags & TCP_SYN) >> 1) + (s->flags & TCP_FIN);
    int ack = s->flags & TCP_ACK;

    (void)c;
    net_stats.drop_tcp++;
    tcp_emit(s->src, (uint32_t)s->dport << 16 | s->sport, ack ? s->ack : 0, s->seq + seg_len,
             (uint32_t)(ack ? TCP_RST : TCP_RST | TCP_ACK) << 16, 0);
}

/* LISTEN: a SYN gets a SYN-ACK whose sequence number is its cookie; nothing is kept (data on
 * the SYN is not taken: the peer resends it). */
static void h_syn_ack(struct tcb *c, struct seg *s)
{
    unsigned i = 3;

    if (s->flags & TCP_ACK) {       /* a SYN-ACK: nothing of ours it could acknowledge */
        h_reset(c, s);
        return;
    }
    while (i && s->mss < cookie_mss[i]) i--;
    tcp_emit(s->src, (uint32_t)s->dport << 16 | s->sport,
             syn_cookie(s, s->seq, now >> COOKIE_PERIOD_SHIFT) | i, s->seq + 1,
             (uint32_t)(TCP_SYN | TCP_ACK) << 16 | TCP_RX_BUF, 0);
}

/* TIME_WAIT: a new SYN from the same port starts a new connection (RFC 9293 §3.10.7.4). */
static void h_reopen(struct tcb *c, struct seg *s)
{
    c->state = CLOSED;
    h_syn_ack(c, s);
}

/* LISTEN: a segment that acknowledges one of our cookies (its first byte is the one after the
 * peer's SYN) completes a handshake: the connection is made, if the table has or can make
 * room, and the segment handled as in ESTABLISHED (it may carry the request). Any other ACK
 * gets a RST; with the table busy the segment is dropped and the peer's retransmission
 * retries. */
static void h_accept(struct tcb *c, struct seg *s)
{
    uint32_t iss = s->ack - 1, period = now >> COOKIE_PERIOD_SHIFT;

    period -= (period ^ iss >> 2) & 1;          /* this period or, by its parity, the last */
    if (!(s->flags & TCP_ACK) || (syn_cookie(s, s->seq - 1, period) ^ iss) & ~3u) {
        h_reset(c, s);
        return;
    }
    c = tcb_alloc();
    if (!c) {
        net_stats.drop_tcp_full++;
        return;
    }
    memset(c, 0, sizeof *c - sizeof c->rx);
    c->state = ESTABLISHED;
    c->raddr = s->src;
    c->rport = s->sport;
    c->rcv_nxt = s->seq;
    c->snd_una = c->snd_nxt = c->resp_seq = s->ack;
    c->mss = cookie_mss[iss & 3];
    c->rto = RTO_MS;
    tcb_arm(c);
    net_stats.tcp_conns++;
    tcp_dispatch(c, s, ESTABLISHED);
}

/* Synchronized: a SYN gets a challenge ACK (RFC 5961 §4). */
static void h_challenge(struct tcb *c, struct seg *s)
{
    (void)s;
    tcb_challenge(c);
}

/* A bare ACK, or bytes after the peer's FIN (ignored): acknowledgment and window only, which
 * may let the next response go. */
static void h_ack(struct tcb *c, struct seg *s)
{
    if (!ack_in(c, s)) return;
    tcb_app(c);
    tcb_send(c, c->snd_nxt, 0);
}

/* Bytes and maybe the FIN: take them, answer what is complete, acknowledge. */
static void h_segment(struct tcb *c, struct seg *s)
{
    if (!ack_in(c, s)) return;
    data_in(c, s);
    if (s->flags & TCP_FIN) {
        c->rcv_nxt++;
        c->state = after_peer_fin[c->state];
        tcb_arm(c);
    }
    tcb_app(c);
    tcb_ack(c);
}

/* The peer reset the connection, or TIME_WAIT is over: forget it. */
static void h_abort(struct tcb *c, struct seg *s)
{
    (void)s;
    c->state = CLOSED;
}

/* FIN_WAIT_2 timed out: the peer never closed its side. */
static void h_kill(struct tcb *c, struct seg *s)
{
    (void)s;
    tcb_kill(c);
}

/* Nothing acknowledged within the timeout: resend from the oldest byte and double the
 * timeout; after RETRIES the peer is gone. */
static void h_retransmit(struct tcb *c, struct seg *s)
{
    (void)s;
    if (c->retries++ == RETRIES) {
        tcb_kill(c);
        return;
    }
    if (c->rto < RTO_MAX_MS) c->rto <<= 1;
    tcb_send(c, c->snd_una, 0);
    tcb_arm(c);
}

/* ESTABLISHED, CLOSE_WAIT: retransmit what is in flight; else the started request is late
 * (408) or the keep-alive period is over. */
static void h_idle(struct tcb *c, struct seg *s)
{
    if (c->snd_una != c->snd_nxt) {
        h_retransmit(c, s);
        return;
    }
    if (c->rx_len) {
        http_timeout(&c->resp);
        tcb_respond(c);
    } else {
        tcb_close(c);
    }
    tcb_send(c, c->snd_nxt, 0);
}

typedef void tcp_handler(struct tcb *c, struct seg *s);

enum { H_DROP, H_RESET, H_SYN_ACK, H_REOPEN, H_ACCEPT, H_CHALLENGE, H_ACK, H_SEGMENT,
       H_ABORT, H_KILL, H_RETRANSMIT, H_IDLE };

static tcp_handler *const handlers[] = {
    h_drop, h_reset, h_syn_ack, h_reopen, h_accept, h_challenge, h_ack, h_segment,
    h_abort, h_kill, h_retransmit, h_idle,
};

static const uint8_t fsm[TCP_STATES][TCP_EVENTS] = {
    /*               SYN          ACK           DATA          FIN           RST      TIMEOUT */
    [CLOSED]      = {H_RESET,     H_RESET,     H_RESET,      H_RESET,      H_DROP,  H_DROP},
    [LISTEN]      = {H_SYN_ACK,   H_ACCEPT,    H_ACCEPT,     H_ACCEPT,     H_DROP,  H_DROP},
    [ESTABLISHED] = {H_CHALLENGE, H_ACK,       H_SEGMENT,    H_SEGMENT,    H_ABORT, H_IDLE},
    [CLOSE_WAIT]  = {H_CHALLENGE, H_ACK,       H_ACK,        H_ACK,        H_ABORT, H_IDLE},
    [LAST_ACK]    = {H_CHALLENGE, H_ACK,       H_ACK,        H_ACK,        H_ABORT, H_RETRANSMIT},
    [FIN_WAIT_1]  = {H_CHALLENGE, H_ACK,       H_SEGMENT,    H_SEGMENT,    H_ABORT, H_RETRANSMIT},
    [CLOSING]     = {H_CHALLENGE, H_ACK,       H_ACK,        H_ACK,        H_ABORT, H_RETRANSMIT},
    [FIN_WAIT_2]  = {H_CHALLENGE, H_ACK,       H_SEGMENT,    H_SEGMENT,    H_ABORT, H_KILL},
    [TIME_WAIT]   = {H_REOPEN,    H_ACK,       H_ACK,        H_ACK,        H_ABORT, H_ABORT},
};

static void tcp_dispatch(struct tcb *c, struct seg *s, uint8_t state)
{
    handlers[fsm[state][s->ev]](c, s);
}

/* RFC 9293 §3.10.7.4, first and second checks, with RFC 5961's. Is the segment in the window
 * (then its bytes we already have are trimmed), is its RST exact, does it carry an ACK? A RST
 * exactly at rcv_nxt resets; elsewhere in our window it gets a challenge ACK (its sender, if
 * it has no connection, answers with an exact RST); outside it is dropped (RFC 5961 §3.2).
 * Other segments out of order or old get an ACK and are dropped. */
static int tcb_acceptable(struct tcb *c, struct seg *s)
{
    int32_t d = (int32_t)(s->seq - c->rcv_nxt);     /* how far past what we expect */

    if (s->ev == EV_RST && d) {
        if (d > 0 && d < TCP_RX_BUF - c->rx_len) tcb_challenge(c);
        return 0;
    }
    if (d > 0 || (d < 0 && d + s->len + (s->flags & TCP_FIN) <= 0)) {
        tcb_ack(c);
        return 0;
    }
    if (!(s->flags & (TCP_ACK | TCP_RST))) return 0;
    s->data -= d;
    s->len = (uint16_t)(s->len + d);
    return 1;
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, uint16_t len)
{
    const struct tcp_hdr *h = (const struct tcp_hdr *)seg;
    struct seg s;
    struct tcb *c = 0;
    uint8_t state = CLOSED;
    uint16_t hl;

    if (len < sizeof *h || (hl = (uint16_t)((h->off >> 4) * 4)) < sizeof *h || hl > len ||
        inet_checksum(seg, len, ip_pseudo_sum(src, dst, IP_PROTO_TCP, len))) {
        net_stats.drop_tcp++;
        return;
    }
    now = plat_now_ms();
    s.src = src;
    s.sport = rd16(h->sport);
    s.dport = rd16(h->dport);
    s.seq = rd32(h->seq);
    s.ack = rd32(h->ack);
    s.flags = h->flags;
    s.wnd = rd16(h->win);
    s.mss = syn_mss(seg + sizeof *h, seg + hl);
    s.data = seg + hl;
    s.len = len - hl;
    s.ev = s.flags & TCP_RST ? EV_RST : s.flags & TCP_SYN ? EV_SYN
         : s.flags & TCP_FIN ? EV_FIN : s.len ? EV_DATA : EV_ACK;
    if (s.dport == listen_port) {
        state = LISTEN;
        for (c = tcbs; c < tcbs + TCP_CONNS; c++)
            if (c->state != CLOSED && c->raddr == src && c->rport == s.sport) break;
        if (c == tcbs + TCP_CONNS) {
            c = 0;
        } else {
            state = c->state;
            if (s.ev != EV_SYN && !tcb_acceptable(c, &s)) return;
        }
    }
    tcp_dispatch(c, &s, state);
}

void tcp_poll(uint32_t now_ms)
{
    struct seg s = {.ev = EV_TIMEOUT};
    struct tcb *c;

    now = now_ms;
    for (c = tcbs; c < tcbs + TCP_CONNS; c++)
        if (c->state != CLOSED && time_reached(now, c->timer_at)) tcp_dispatch(c, &s, c->state);
}

void tcp_init(uint16_t port)
{
    struct tcb *c;

    listen_port = port;
    cookie_secret = (uint64_t)plat_random() << 32 | plat_random();
    for (c = tcbs; c < tcbs + TCP_CONNS; c++) c->state = CLOSED;
}

/* net_set_address calls this after "exo: ip …": the port is reachable from then on. */
void tcp_announce(void)
{
    if (listen_port) net_logf("exo: http listening on %u", listen_port);
}
