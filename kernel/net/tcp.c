/* tcp.c — TCP for exoform's HTTP server (RFC 9293), passive open on one port only.
 *
 * The state machine is a table, one row per state and one handler per event (picoTCP's
 * layout). Each segment is classified into exactly one event (RST, else SYN, else FIN, else
 * data, else a bare ACK), checked against the receive window, then handed to its cell; an
 * expired timer is one more event. Every cell is unit-tested on the host (kernel/host/).
 *
 * Connections live in a fixed table. When it is full, a SYN takes the place of the idle
 * connection nearest its timeout (TIME_WAIT, half-open, or keep-alive between requests), which
 * is reset; when every connection is busy the SYN is dropped and the client retries it.
 *
 * Sending: at most one HTTP response is in flight per connection and its bytes are never
 * buffered: http_read() regenerates any range from its offset, so retransmission (go-back-N
 * from the oldest unacknowledged byte, doubling the timeout) needs no send buffer. No
 * congestion window: a response is a few segments, inside RFC 6928's initial window.
 * Receiving: in-order bytes only (others are dropped and acknowledged) into a buffer sized for
 * one request; the window we advertise is its free space.
 */
#include <string.h>
#include "net.h"
#include "http.h"
#include "proto/ip.h"
#include "proto/tcp.h"

#define TCP_CONNS 64
#define TCP_RX_BUF 1024         /* one request: HTTP answers 431/413 beyond */
#define TCP_MSS 1460            /* a 1500-byte MTU less the IPv4 and TCP headers */
#define TCP_MIN_MSS 64          /* a tiny peer MSS would multiply our segments */
#define TCP_DEFAULT_MSS 536     /* RFC 9293 §3.7.1: the SYN had no MSS option */
#define RTO_MS 250              /* first retransmission timeout, doubled at each retry */
#define RETRIES 5               /* then the peer is gone: 250 + 500 + … + 8000 ms */
#define REQUEST_MS 3000         /* a started request must be complete within this: 408 */
#define IDLE_MS 10000           /* keep-alive between requests; also FIN_WAIT_2 */
#define TIME_WAIT_MS 2000       /* bounded 2×MSL: the table must not fill with the dead */

/* The order is used: states from LAST_ACK on have our FIN queued or sent; the peer's FIN moves
 * ESTABLISHED, FIN_WAIT_1 and FIN_WAIT_2 one state on; the ACK of our FIN moves FIN_WAIT_1 and
 * CLOSING two on. LISTEN and CLOSED have no table entry: they are where a segment that matches
 * no connection goes, by its destination port. */
enum { CLOSED, LISTEN, SYN_RCVD, ESTABLISHED, CLOSE_WAIT,
       LAST_ACK, FIN_WAIT_1, CLOSING, FIN_WAIT_2, TIME_WAIT, TCP_STATES };
enum { EV_SYN, EV_ACK, EV_DATA, EV_FIN, EV_RST, EV_TIMEOUT, TCP_EVENTS };

struct tcb {
    uint8_t state, retries;
    uint16_t rport;                 /* host order */
    uint32_t raddr;                 /* network order */
    uint32_t snd_una, snd_nxt;      /* oldest unacknowledged and next new sequence numbers */
    uint32_t rcv_nxt;
    uint32_t resp_seq;              /* sequence number of the current response's first byte */
    uint32_t timer_at;              /* retransmission while unacknowledged, else idle/request */
    uint16_t mss, wnd, rto, rx_len; /* peer's MSS and window; current timeout; bytes in rx */
    struct http_resp resp;
    uint8_t rx[TCP_RX_BUF];
};

static struct tcb tcbs[TCP_CONNS];
static uint16_t listen_port;
static uint32_t now;

/* The segment being handled, parsed once by tcp_input and handed down as a pointer; a timer
 * is an EV_TIMEOUT with no segment fields. */
struct seg {
    uint32_t src, seq, ack;
    uint16_t sport, dport, wnd, len;
    uint8_t flags, ev, mss_opt[4];
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

/* Send from `seq`: the SYN-ACK, or response bytes and then our FIN, as far as the peer's
 * window allows (a zero window still gets one byte: the probe). With nothing to send, a bare
 * ACK if `force`. */
static void tcb_send(struct tcb *c, uint32_t seq, int force)
{
    uint32_t end = c->resp_seq + c->resp.len;
    uint32_t lim = c->snd_una + (c->wnd ? c->wnd : 1);
    int was_idle = c->snd_una == c->snd_nxt;

    if (c->state == SYN_RCVD) {
        tcb_emit(c, c->snd_una, TCP_SYN | TCP_ACK, 0);
        c->snd_nxt = c->snd_una + 1;
    } else for (;;) {
        uint8_t flags = TCP_ACK;
        int32_t n = (int32_t)(end - seq);

        if (n > c->mss) n = c->mss;
        if (n > (int32_t)(lim - seq)) n = (int32_t)(lim - seq);
        if (n < 0) n = 0;
        if (n) flags |= TCP_PSH;
        if (c->state >= LAST_ACK && seq + (uint32_t)n == end) flags |= TCP_FIN;
        if (flags == TCP_ACK && !force) break;
        http_read(&c->resp, (uint16_t)(seq - c->resp_seq), out + sizeof(struct tcp_hdr), (uint16_t)n);
        tcb_emit(c, seq, flags, (uint16_t)n);
        seq += (uint32_t)n + (flags & TCP_FIN);
        if ((int32_t)(seq - c->snd_nxt) > 0) c->snd_nxt = seq;
        if (!n || (flags & TCP_FIN)) break;
        force = 0;
    }
    if (was_idle && c->snd_una != c->snd_nxt) tcb_arm(c);
}

/* Acknowledge now. In SYN_RCVD the peer lacks our SYN, so that is what it gets agas-> */
static void tcb_ack(struct tcb *c)
{
    tcb_send(c, c->snd_nxt, 1);
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

    if (c->state > CLOSE_WAIT || c->snd_una != c->resp_seq + c->resp.len) return;
    n = http_request(c->rx, c->rx_len, TCP_RX_BUF, &c->resp);
    if (n) {
        c->rx_len -= n;
        memmove(c->rx, c->rx + n, c->rx_len);
        tcb_respond(c);
    } else if (c->state == CLOSE_WAIT) {
        tcb_close(c);
    }
}

/* A free slot, or the idle connection nearest its timeout, reset to make room: half-open, or
 * with nothing in flight and no request started (keep-alive, FIN_WAIT_2, TIME_WAIT). NULL
 * when every connection is busy. */
static struct tcb *tcb_alloc(void)
{
    struct tcb *c, *victim = 0;

    for (c = tcbs; c < tcbs + TCP_CONNS; c++) {
        if (c->state == CLOSED) return c;
        if ((c->state == SYN_RCVD || (c->snd_una == c->snd_nxt && !c->rx_len)) &&
            (!victim || (int32_t)(c->timer_at - victim->timer_at) < 0))
            victim = c;
    }
    if (victim) tcb_kill(victim);
    return victim;
}

/* The SYN's MSS, clamped to what we can use. Every common stack sends the MSS option first;
 * without it there, the RFC default (other options are ignored: no timestamps, SACK or window
 * scaling is agreed, since our SYN-ACK offers none). */
static uint16_t syn_mss(const struct seg *s)
{
    uint16_t mss = s->mss_opt[0] == TCP_OPT_MSS && s->mss_opt[1] == 4 ? rd16(s->mss_opt + 2)
                                                                    : TCP_DEFAULT_MSS;
    return mss < TCP_MIN_MSS ? TCP_MIN_MSS : mss > TCP_MSS ? TCP_MSS : mss;
}

/* The ACK field, in every synchronized state: advance, take the window, restart the timer;
 * the ACK of our FIN moves the state on. Returns 0 when the segment must go no further. */
static int ack_in(struct tcb *c, const struct seg *s)
{
    if ((int32_t)(s->ack - c->snd_nxt) > 0) {        /* acknowledges what we never sent */
        tcb_ack(c);
        return 0;
    }
    c->wnd = s->wnd;
    if ((int32_t)(s->ack - c->snd_una) <= 0) return 1;  /* a duplicate: nothing new */
    c->snd_una = s->ack;
    c->retries = 0;
    c->rto = RTO_MS;
    if (c->state >= LAST_ACK && c->snd_una == c->resp_seq + c->resp.len + 1) {
        if (c->state == LAST_ACK) {
            c->state = CLOSED;
            return 0;
        }
        if (c->state <= CLOSING) c->state += 2;     /* to FIN_WAIT_2 or TIME_WAIT */
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

/* LISTEN: a SYN opens a connection if the table has, or can make, room. */
static void h_open(struct tcb *c, struct seg *s)
{
    if (s->flags & TCP_ACK) {       /* a SYN-ACK: nothing of ours it could acknowledge */
        h_reset(c, s);
        return;
    }
    c = tcb_alloc();
    if (!c) {
        net_stats.drop_tcp_full++;
        return;
    }
    memset(c, 0, sizeof *c - sizeof c->rx);
    c->state = SYN_RCVD;
    c->raddr = s->src;
    c->rport = s->sport;
    c->rcv_nxt = s->seq + 1;        /* data on the SYN is not taken: the peer resends it */
    c->snd_una = c->snd_nxt = plat_random();
    c->resp_seq = c->snd_una + 1;
    c->mss = syn_mss(s);
    c->wnd = s->wnd;
    c->rto = RTO_MS;
    tcb_send(c, c->snd_una, 0);
}

/* TIME_WAIT: a new SYN from the same port starts a new connection (RFC 9293 §3.10.7.4). */
static void h_reopen(struct tcb *c, struct seg *s)
{
    c->state = CLOSED;
    h_open(c, s);
}

/* SYN_RCVD: a repeated SYN (our SYN-ACK was lost). Synchronized: a SYN gets a challenge ACK
 * (RFC 5961 §4). */
static void h_send_ack(struct tcb *c, struct seg *s)
{
    (void)s;
    tcb_ack(c);
}

/* SYN_RCVD: the ACK of our SYN completes the handshake; then the segment is handled as in
 * ESTABLISHED (it may carry the request). Any other ACK gets a RST. */
static void h_establish(struct tcb *c, struct seg *s)
{
    if (s->ack != c->snd_nxt) {
        h_reset(c, s);
        return;
    }
    c->state = ESTABLISHED;
    net_stats.tcp_conns++;
    tcp_dispatch(c, s, ESTABLISHED);
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
        c->state++;                 /* to CLOSE_WAIT, CLOSING or TIME_WAIT */
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
    c->rto <<= 1;
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

enum { H_DROP, H_RESET, H_OPEN, H_REOPEN, H_SEND_ACK, H_ESTABLISH, H_ACK, H_SEGMENT,
       H_ABORT, H_KILL, H_RETRANSMIT, H_IDLE };

static tcp_handler *const handlers[] = {
    h_drop, h_reset, h_open, h_reopen, h_send_ack, h_establish, h_ack, h_segment,
    h_abort, h_kill, h_retransmit, h_idle,
};

static const uint8_t fsm[TCP_STATES][TCP_EVENTS] = {
    /*               SYN          ACK           DATA          FIN           RST      TIMEOUT */
    [CLOSED]      = {H_RESET,    H_RESET,      H_RESET,      H_RESET,      H_DROP,  H_DROP},
    [LISTEN]      = {H_OPEN,     H_RESET,      H_RESET,      H_RESET,      H_DROP,  H_DROP},
    [SYN_RCVD]    = {H_SEND_ACK, H_ESTABLISH,  H_ESTABLISH,  H_ESTABLISH,  H_ABORT, H_RETRANSMIT},
    [ESTABLISHED] = {H_SEND_ACK, H_ACK,        H_SEGMENT,    H_SEGMENT,    H_ABORT, H_IDLE},
    [CLOSE_WAIT]  = {H_SEND_ACK, H_ACK,        H_ACK,        H_ACK,        H_ABORT, H_IDLE},
    [LAST_ACK]    = {H_SEND_ACK, H_ACK,        H_ACK,        H_ACK,        H_ABORT, H_RETRANSMIT},
    [FIN_WAIT_1]  = {H_SEND_ACK, H_ACK,        H_SEGMENT,    H_SEGMENT,    H_ABORT, H_RETRANSMIT},
    [CLOSING]     = {H_SEND_ACK, H_ACK,        H_ACK,        H_ACK,        H_ABORT, H_RETRANSMIT},
    [FIN_WAIT_2]  = {H_SEND_ACK, H_ACK,        H_SEGMENT,    H_SEGMENT,    H_ABORT, H_KILL},
    [TIME_WAIT]   = {H_REOPEN,   H_ACK,        H_ACK,        H_ACK,        H_ABORT, H_ABORT},
};

static void tcp_dispatch(struct tcb *c, struct seg *s, uint8_t state)
{
    handlers[fsm[state][s->ev]](c, s);
}

/* RFC 9293 §3.10.7.4, first and second checks, with RFC 5961's challenge ACKs. Is the segment
 * in the window (then its bytes we already have are trimmed), is its RST exact, does it carry
 * an ACK? A segment out of the window, or a RST not exactly at rcv_nxt, gets an ACK and is
 * dropped (a RST's sender that has no connection answers that ACK with an exact RST). */
static int tcb_acceptable(struct tcb *c, struct seg *s)
{
    int32_t d = (int32_t)(s->seq - c->rcv_nxt);

    if (s->ev == EV_RST ? d != 0 : d > 0 || (d < 0 && d + s->len + (s->flags & TCP_FIN) <= 0)) {
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
    memcpy(s.mss_opt, hl > sizeof *h ? seg + sizeof *h : (const uint8_t *)"\0\0\0", 4);
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
        if (c->state != CLOSED && (int32_t)(now - c->timer_at) >= 0) tcp_dispatch(c, &s, c->state);
}

void tcp_init(uint16_t port)
{
    struct tcb *c;

    listen_port = port;
    for (c = tcbs; c < tcbs + TCP_CONNS; c++) c->state = CLOSED;
}

/* net_set_address calls this after "exo: ip …": the port is reachable from then on. */
void tcp_announce(void)
{
    if (listen_port) net_logf("exo: http listening on %u", listen_port);
}
