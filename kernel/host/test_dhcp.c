/* test_dhcp.c — the DHCP client on the host: discover with backoff, offer checks, request,
 * bind, renew, NAKs, malformed replies.
 *
 * The server's replies are built by wire_dhcp and go in through net_input; the client's
 * messages come out of the fake NIC and are parsed here. The clock moves only through
 * advance(), which runs net_poll as the kernel's main loop does. */
#include <string.h>
#include "check.h"
#include "stack.h"
#include "wire.h"
#include "proto/bytes.h"
#include "proto/dhcp.h"

#define SERVER_IP WIRE_PEER_IP       /* 10.0.0.1: the DHCP server, also the router */
#define LEASE_S 100                  /* T1 = 50 s, T2 = 87.5 s */

/* One message from the client, as parsed. */
struct msg {
    uint8_t type, eth_dst[6];
    uint8_t xid[4];
    uint16_t flags;
    uint32_t ip_src, ip_dst, ciaddr, requested, server_id;
    char hostname[64];
};

static uint8_t f[1514];

static uint32_t ip_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void advance(uint32_t ms)
{
    host_now += ms;
    net_poll();
}

/* The next DHCP message the client sent (ARP frames are skipped): 1, or 0 when none. */
static int next_msg(struct msg *m)
{
    const struct host_frame *fr;
    const uint8_t *ip, *udp, *d, *o, *end;

    while ((fr = host_tx_next()) && rd16(fr->data + 12) == 0x0806) continue;
    if (!fr) return 0;
    memset(m, 0, sizeof *m);
    CHECK(wire_checksums_ok(fr->data, fr->len));
    ip = fr->data + 14;
    udp = ip + 20;
    d = udp + 8;
    CHECK(ip[9] == 17 && rd16(udp) == 68 && rd16(udp + 2) == 67);
    CHECK(rd16(udp + 4) >= 8 + DHCP_MSG_MIN);                /* the BOOTP minimum */
    CHECK(d[0] == DHCP_BOOTREQUEST && d[1] == 1 && d[2] == 6);
    CHECK(memcmp(d + 28, wire_us_mac, 6) == 0 && rd32(d + 236) == DHCP_COOKIE);
    memcpy(m->eth_dst, fr->data, 6);
    memcpy(m->xid, d + 4, 4);
    m->flags = rd16(d + 10);
    m->ip_src = ip_at(ip + 12);
    m->ip_dst = ip_at(ip + 16);
    m->ciaddr = ip_at(d + 12);
    end = udp + rd16(udp + 4);
    for (o = d + 240; o < end && *o != DHCP_OPT_END; o += 2 + o[1]) {
        CHECK(*o != DHCP_OPT_PAD && o + 2 <= end && o + 2 + o[1] <= end);
        if (o[0] == DHCP_OPT_TYPE) m->type = o[2];
        if (o[0] == DHCP_OPT_REQUESTED_IP) m->requested = ip_at(o + 2);
        if (o[0] == DHCP_OPT_SERVER_ID) m->server_id = ip_at(o + 2);
        if (o[0] == DHCP_OPT_HOSTNAME) memcpy(m->hostname, o + 2, o[1] < 63 ? o[1] : 63);
    }
    CHECK(o < end);                                          /* END is there */
    CHECK(m->type == DHCP_DISCOVER || m->type == DHCP_REQUEST);
    return 1;
}

static struct msg expect_msg(uint8_t type)
{
    struct msg m;

    CHECK(next_msg(&m) == 1);
    if (m.type != type) fprintf(stderr, "  DHCP type %u, expected %u\n", m.type, type);
    CHECK(m.type == type);
    return m;
}

static void no_msg(void)
{
    struct msg m;
    CHECK(next_msg(&m) == 0);
}

/* A broadcast message of the selecting/requesting kind: from 0.0.0.0, asks for a broadcast
 * answer. */
static void check_broadcast(const struct msg *m)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    CHECK(memcmp(m->eth_dst, bcast, 6) == 0 && m->ip_dst == 0xffffffffu);
    CHECK(m->ip_src == 0 && m->ciaddr == 0 && (m->flags & DHCP_FLAG_BROADCAST));
}

/* A reply of `type` from the server for xid, offering us 10.0.0.5 with the options a server
 * sends (mask, router, lease) unless `bare`. */
static uint16_t reply(uint8_t type, const uint8_t *xid, uint32_t dst)
{
    uint8_t o[] = {DHCP_OPT_TYPE, 1, type,
                   DHCP_OPT_SERVER_ID, 4, 10, 0, 0, 1,
                   DHCP_OPT_MASK, 4, 255, 255, 240, 0,       /* /20: not the default /24 */
                   DHCP_OPT_ROUTER, 4, 10, 0, 0, 1,
                   DHCP_OPT_LEASE, 4, 0, 0, 0, LEASE_S,
                   DHCP_OPT_END};

    return wire_dhcp(f, dst, xid, wire_us_mac, type == DHCP_NAK ? 0 : WIRE_US_IP, o, sizeof o);
}

static void send_reply(uint8_t type, const uint8_t *xid)
{
    net_input(f, reply(type, xid, 0xffffffffu));
}

/* DISCOVER, OFFER, REQUEST: the client is requesting; returns the REQUEST. */
static struct msg to_requesting(void)
{
    struct msg d, r;

    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    send_reply(DHCP_OFFER, d.xid);
    no_msg();
    advance(0);
    r = expect_msg(DHCP_REQUEST);
    CHECK(memcmp(r.xid, d.xid, 4) == 0);
    return r;
}

/* ... then ACK: bound to 10.0.0.5/20 via 10.0.0.1; the server's ARP reply is in. */
static struct msg to_bound(void)
{
    struct msg r = to_requesting();

    send_reply(DHCP_ACK, r.xid);
    CHECK(net_is_configured() && net_ip() == WIRE_US_IP);
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    host_tx_clear();
    return r;
}

/* ---- Selecting ---- */

static void test_discover_at_start(void)
{
    struct msg m, again;

    CHECK(!net_is_configured() && net_ip() == 0);
    advance(0);
    m = expect_msg(DHCP_DISCOVER);
    check_broadcast(&m);
    CHECK(strcmp(m.hostname, "exoform") == 0 && m.requested == 0 && m.server_id == 0);
    CHECK(ip_at(m.xid) != 0);
    no_msg();
    /* The xid comes from plat_random: another seed, another xid. */
    wire_init(2, 1);
    advance(0);
    again = expect_msg(DHCP_DISCOVER);
    CHECK(memcmp(again.xid, m.xid, 4) != 0 && ip_at(again.xid) != 0);
}

static void test_discover_retransmitted_with_backoff(void)
{
    /* After the first at 0 s: 1, 2, 4, 8 s apart, then every 8 s. */
    static const uint32_t at[] = {0, 1000, 3000, 7000, 15000, 23000, 31000, 39000};
    uint32_t start = host_now, sent[8], n = 0, t;
    uint8_t xid[4];
    struct msg m;

    for (t = 0; t <= 40000; t += 100) {
        advance(t ? 100 : 0);
        while (next_msg(&m)) {
            CHECK(n < 8 && m.type == DHCP_DISCOVER);
            if (n == 0) memcpy(xid, m.xid, 4);
            CHECK(memcmp(m.xid, xid, 4) == 0);              /* one transaction */
            sent[n++] = host_now - start;
        }
    }
    CHECK(n == 8);
    for (t = 0; t < 8; t++) {
        if (sent[t] != at[t])
            fprintf(stderr, "  DISCOVER %u at %u ms, expected %u\n", t, sent[t], at[t]);
        CHECK(sent[t] == at[t]);
    }
    CHECK(!net_is_configured());
}

static void test_offer_for_someone_else_is_ignored(void)
{
    static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 9};
    struct msg d;
    uint8_t wrong[4];
    uint16_t len;

    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    memcpy(wrong, d.xid, 4);
    wrong[3] ^= 1;
    send_reply(DHCP_OFFER, wrong);
    CHECK(net_stats.drop_dhcp == 1);
    len = reply(DHCP_OFFER, d.xid, 0xffffffffu);
    memcpy(f + 42 + 28, other_mac, 6);
    wire_fix_checksums(f, len);
    net_input(f, len);
    CHECK(net_stats.drop_dhcp == 2);
    /* Still selecting: the next transmission is a DISCOVER, a second later. */
    advance(999);
    no_msg();
    advance(1);
    expect_msg(DHCP_DISCOVER);
    /* The right offer is taken. */
    send_reply(DHCP_OFFER, d.xid);
    advance(0);
    expect_msg(DHCP_REQUEST);
    CHECK(net_stats.drop_dhcp == 2);
}

static void test_offer_request_ack_configures(void)
{
    const struct host_frame *fr;
    struct msg r = to_requesting();

    check_broadcast(&r);
    CHECK(r.requested == WIRE_US_IP && r.server_id == SERVER_IP);
    CHECK(strcmp(r.hostname, "exoform") == 0);
    CHECK(!net_is_configured());
    send_reply(DHCP_ACK, r.xid);
    CHECK(net_is_configured() && net_ip() == WIRE_US_IP);
    CHECK(net_if.mask == net_prefix_mask(20) && net_if.gw == SERVER_IP);
    /* Gratuitous ARP: who has 10.0.0.5? tell 10.0.0.5, broadcast; then the router is asked. */
    fr = host_tx_next();
    CHECK(fr && fr->len == 42 && rd16(fr->data + 12) == 0x0806 && rd16(fr->data + 20) == 1);
    CHECK(memcmp(fr->data, "\xff\xff\xff\xff\xff\xff", 6) == 0);
    CHECK(memcmp(fr->data + 22, wire_us_mac, 6) == 0);
    CHECK(ip_at(fr->data + 28) == WIRE_US_IP && ip_at(fr->data + 38) == WIRE_US_IP);
    fr = host_tx_next();
    CHECK(fr && rd16(fr->data + 12) == 0x0806 && ip_at(fr->data + 38) == SERVER_IP);
    CHECK(host_tx_pending() == 0);
    /* Bound: nothing more is sent until T1. */
    advance(LEASE_S * 500 - 1);
    no_msg();
    CHECK(net_stats.drop_dhcp == 0);
}

/* Servers that cannot broadcast answer to the offered address, to our MAC. */
static void test_offer_and_ack_unicast_to_the_offered_address(void)
{
    struct msg d, r;

    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    net_input(f, reply(DHCP_OFFER, d.xid, WIRE_US_IP));
    advance(0);
    r = expect_msg(DHCP_REQUEST);
    CHECK(r.requested == WIRE_US_IP);
    net_input(f, reply(DHCP_ACK, r.xid, WIRE_US_IP));
    CHECK(net_ip() == WIRE_US_IP && net_stats.drop_ip_notme == 0 && net_stats.drop_dhcp == 0);
}

static void test_ack_without_options_gets_defaults(void)
{
    static const uint8_t o[] = {DHCP_OPT_TYPE, 1, DHCP_ACK, DHCP_OPT_END};
    struct msg r = to_requesting();

    net_input(f, wire_dhcp(f, 0xffffffffu, r.xid, wire_us_mac, WIRE_US_IP, o, sizeof o));
    CHECK(net_ip() == WIRE_US_IP && net_if.mask == net_prefix_mask(24) && net_if.gw == 0);
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    host_tx_clear();
    /* The shortest lease (10 s): renewal at 5 s. */
    advance(4999);
    no_msg();
    advance(1);
    expect_msg(DHCP_REQUEST);
}

static void test_nak_while_requesting_restarts(void)
{
    struct msg r = to_requesting(), d;

    send_reply(DHCP_NAK, r.xid);
    CHECK(!net_is_configured());
    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    check_broadcast(&d);
    CHECK(memcmp(d.xid, r.xid, 4) != 0);                     /* a new transaction */
    CHECK(net_stats.drop_dhcp == 0);
}

static void test_unanswered_request_restarts(void)
{
    static const uint32_t at[] = {1000, 2000, 4000};
    struct msg r = to_requesting(), m;
    unsigned i;

    for (i = 0; i < 3; i++) {
        advance(at[i] - 1);
        no_msg();
        advance(1);
        m = expect_msg(DHCP_REQUEST);
        CHECK(memcmp(m.xid, r.xid, 4) == 0 && m.requested == WIRE_US_IP);
    }
    advance(7999);
    no_msg();
    advance(1);
    m = expect_msg(DHCP_DISCOVER);                           /* 15 s without an ACK */
    CHECK(memcmp(m.xid, r.xid, 4) != 0);
}

/* ---- Bound ---- */

static void test_renewal_at_t1_and_ack_extends_the_lease(void)
{
    struct msg r, m;
    uint32_t bound;

    to_bound();
    bound = host_now;
    advance(LEASE_S * 500 - 1);
    no_msg();
    advance(1);
    /* T1: REQUEST unicast to the server, from our address, which it carries in ciaddr. */
    r = expect_msg(DHCP_REQUEST);
    CHECK(memcmp(r.eth_dst, wire_peer_mac, 6) == 0);
    CHECK(r.ip_src == WIRE_US_IP && r.ip_dst == SERVER_IP && r.ciaddr == WIRE_US_IP);
    CHECK(!(r.flags & DHCP_FLAG_BROADCAST) && r.requested == 0 && r.server_id == 0);
    no_msg();
    advance(10000);                                          /* ACK after a retransmission */
    m = expect_msg(DHCP_REQUEST);
    CHECK(m.ip_dst == SERVER_IP && memcmp(m.xid, r.xid, 4) == 0);
    net_input(f, reply(DHCP_ACK, r.xid, WIRE_US_IP));
    CHECK(net_ip() == WIRE_US_IP && host_tx_pending() == 0);  /* same address: no announcement */
    /* The lease runs from the ACK: past the old T2 and the old expiry, still bound, silent. */
    advance(bound + LEASE_S * 1000 + 1000 - host_now);
    no_msg();
    CHECK(net_ip() == WIRE_US_IP);
    advance(bound + LEASE_S * 500 + 10000 + LEASE_S * 500 - 1 - host_now);
    no_msg();
    advance(1);
    m = expect_msg(DHCP_REQUEST);                            /* the new T1 */
    CHECK(m.ip_dst == SERVER_IP && m.ciaddr == WIRE_US_IP);
    CHECK(net_stats.drop_dhcp == 0);
}

static void test_nak_while_renewing_drops_the_address(void)
{
    struct msg r, d;

    to_bound();
    advance(LEASE_S * 500);
    r = expect_msg(DHCP_REQUEST);
    net_input(f, reply(DHCP_NAK, r.xid, WIRE_US_IP));
    CHECK(!net_is_configured() && net_ip() == 0);
    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    check_broadcast(&d);
    CHECK(memcmp(d.xid, r.xid, 4) != 0);
    /* Without an address, pings are not ours any more. */
    host_tx_clear();
    memset(f + 34, 0, 8);
    f[34] = 8;
    net_input(f, wire_ip(f, WIRE_PEER_IP, WIRE_US_IP, 1, 8));
    CHECK(host_tx_pending() == 0 && net_stats.drop_ip_notme == 1);
}

static void test_unanswered_renewal_rebinds_then_expires(void)
{
    struct msg m;

    to_bound();
    advance(LEASE_S * 500);
    expect_msg(DHCP_REQUEST);
    advance(LEASE_S * 375 - 1);                              /* to just before T2 */
    while (next_msg(&m)) CHECK(m.ip_dst == SERVER_IP);
    advance(1);
    m = expect_msg(DHCP_REQUEST);                            /* T2: broadcast, still ours */
    CHECK(m.ip_dst == 0xffffffffu && m.ip_src == WIRE_US_IP && m.ciaddr == WIRE_US_IP);
    CHECK(m.requested == 0 && m.server_id == 0);
    advance(LEASE_S * 125 - 1);
    CHECK(net_ip() == WIRE_US_IP);
    host_tx_clear();
    advance(1);                                              /* expiry */
    CHECK(!net_is_configured());
    m = expect_msg(DHCP_DISCOVER);
    check_broadcast(&m);
}

/* The millisecond clock wraps after 49.7 days; T1, T2 and expiry straddle the wrap here. */
static void test_timers_across_the_clock_wrap(void)
{
    struct msg m;
    uint32_t step = (0xffffffffu - 20000 - host_now) / 3;  /* polls less than 24 days apart */

    advance(step);
    advance(step);
    host_tx_clear();
    advance(0xffffffffu - 20000 - host_now);               /* sends a DISCOVER */
    to_bound();
    advance(10000);                                         /* before the wrap: nothing due */
    no_msg();
    advance(LEASE_S * 500 - 10000 - 1);
    no_msg();
    advance(1);
    m = expect_msg(DHCP_REQUEST);
    CHECK(m.ip_dst == SERVER_IP && host_now < 0x80000000u);
    advance(LEASE_S * 375);
    while (next_msg(&m) && m.ip_dst == SERVER_IP) continue;
    CHECK(m.ip_dst == 0xffffffffu && m.ciaddr == WIRE_US_IP);   /* rebinding */
    advance(LEASE_S * 125 - 1);
    CHECK(net_ip() == WIRE_US_IP);
    advance(1);
    CHECK(!net_is_configured());
}

/* ---- Leases some servers give: /32, /31, options in sname/file, T1/T2 ---- */

#define ACK_HEAD DHCP_OPT_TYPE, 1, DHCP_ACK, DHCP_OPT_SERVER_ID, 4, 10, 0, 0, 1

/* DISCOVER, OFFER, REQUEST, then an ACK giving yiaddr with options o (END included). */
static void bind_with(uint32_t yiaddr, const uint8_t *o, uint16_t n)
{
    struct msg r = to_requesting();

    net_input(f, wire_dhcp(f, 0xffffffffu, r.xid, wire_us_mac, yiaddr, o, n));
    CHECK(net_ip() == yiaddr);
}

/* An echo request from src to us (yiaddr) with 8 data bytes, in f; returns its length. */
static uint16_t echo_from(uint32_t src, uint32_t us)
{
    memset(f + 34, 0, 16);
    f[34] = 8;
    return wire_ip(f, src, us, 1, 16);
}

/* The next frame is an echo reply to dst through the Ethernet address of the peer. */
static void expect_echo_reply_to(uint32_t dst)
{
    const struct host_frame *fr = host_tx_next();

    CHECK(fr && fr->len == 34 + 16 && rd16(fr->data + 12) == 0x0800 && fr->data[34] == 0);
    CHECK(memcmp(fr->data, wire_peer_mac, 6) == 0 && ip_at(fr->data + 30) == dst);
}

/* Some clouds lease a /32 with a router outside it: the router is still on the link, so it
 * stays the gateway, is reached directly, and carries everything else. */
static void test_slash32_lease_keeps_the_router_on_link(void)
{
    static const uint8_t o[] = {ACK_HEAD, DHCP_OPT_MASK, 4, 255, 255, 255, 255,
                                DHCP_OPT_ROUTER, 4, 10, 0, 0, 1, DHCP_OPT_END};
    const uint32_t far = 0x0909a8c0U;                       /* 192.168.9.9 */

    bind_with(WIRE_US_IP, o, sizeof o);
    CHECK(net_if.mask == 0xffffffffu && net_if.gw == SERVER_IP);
    host_tx_clear();
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    net_input(f, echo_from(SERVER_IP, WIRE_US_IP));         /* the router itself */
    expect_echo_reply_to(SERVER_IP);
    net_input(f, echo_from(far, WIRE_US_IP));               /* anyone else, through it */
    expect_echo_reply_to(far);
    CHECK(host_tx_pending() == 0 && net_stats.drop_noroute == 0);
}

/* RFC 3021: on a /31 both addresses are hosts; the other one is no broadcast address. */
static void test_slash31_peer_is_a_host(void)
{
    static const uint8_t o[] = {ACK_HEAD, DHCP_OPT_MASK, 4, 255, 255, 255, 254,
                                DHCP_OPT_ROUTER, 4, 10, 0, 0, 5, DHCP_OPT_END};
    const uint32_t us = 0x0400000aU, peer = 0x0500000aU;    /* 10.0.0.4/31 and 10.0.0.5 */
    const struct host_frame *fr;

    bind_with(us, o, sizeof o);
    CHECK(net_if.gw == peer);
    host_tx_clear();
    net_input(f, echo_from(peer, us));                      /* peer unknown: asked by ARP */
    fr = host_tx_next();
    CHECK(fr && rd16(fr->data + 12) == 0x0806 && ip_at(fr->data + 38) == peer);
    net_input(f, wire_arp(f, 2, wire_peer_mac, peer, us));
    expect_echo_reply_to(peer);                             /* the held reply, now unicast */
    net_input(f, echo_from(peer, us));
    expect_echo_reply_to(peer);                             /* unicast, not broadcast */
    CHECK(host_tx_pending() == 0 && net_stats.drop_ip_hdr == 0);
}

/* RFC 2132 9.3: option 52 continues the options in file (1), sname (2) or both, read in the
 * order options, file, sname; without the flag, those fields are not options. */
static void test_overloaded_options_in_file_and_sname(void)
{
    static const uint8_t offer[] = {DHCP_OPT_SERVER_ID, 4, 10, 0, 0, 1,
                                    DHCP_OPT_OVERLOAD, 1, 2, DHCP_OPT_END};
    static const uint8_t offer_sname[] = {DHCP_OPT_TYPE, 1, DHCP_OFFER, DHCP_OPT_END};
    static const uint8_t ack[] = {ACK_HEAD, DHCP_OPT_OVERLOAD, 1, 3, DHCP_OPT_END};
    static const uint8_t ack_file[] = {DHCP_OPT_MASK, 4, 255, 255, 240, 0, DHCP_OPT_PAD,
                                       DHCP_OPT_ROUTER, 4, 10, 0, 0, 1, DHCP_OPT_END};
    static const uint8_t ack_sname[] = {DHCP_OPT_LEASE, 4, 0, 0, 0, LEASE_S,
                                        DHCP_OPT_ROUTER, 4, 10, 0, 0, 9, DHCP_OPT_END};
    struct msg d, r;
    uint16_t len;

    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    /* The message type itself in sname. */
    len = wire_dhcp(f, 0xffffffffu, d.xid, wire_us_mac, WIRE_US_IP, offer, sizeof offer);
    net_input(f, wire_dhcp_put(f, len, WIRE_DHCP_SNAME, offer_sname, sizeof offer_sname));
    advance(0);
    r = expect_msg(DHCP_REQUEST);
    CHECK(r.server_id == SERVER_IP);
    len = wire_dhcp(f, 0xffffffffu, r.xid, wire_us_mac, WIRE_US_IP, ack, sizeof ack);
    wire_dhcp_put(f, len, WIRE_DHCP_FILE, ack_file, sizeof ack_file);
    net_input(f, wire_dhcp_put(f, len, WIRE_DHCP_SNAME, ack_sname, sizeof ack_sname));
    CHECK(net_ip() == WIRE_US_IP && net_if.mask == net_prefix_mask(20));
    CHECK(net_if.gw == SERVER_IP);                          /* file before sname */
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    host_tx_clear();
    advance(LEASE_S * 500 - 1);                             /* the lease from sname: T1 50 s */
    no_msg();
    advance(1);
    expect_msg(DHCP_REQUEST);
}

/* Overload 1 is file only: a router in sname is a server name's bytes, not an option. */
static void test_overload_of_file_only_leaves_sname_alone(void)
{
    static const uint8_t ack[] = {ACK_HEAD, DHCP_OPT_OVERLOAD, 1, 1, DHCP_OPT_END};
    static const uint8_t sname[] = {DHCP_OPT_ROUTER, 4, 10, 0, 0, 1, DHCP_OPT_END};
    struct msg r = to_requesting();
    uint16_t len = wire_dhcp(f, 0xffffffffu, r.xid, wire_us_mac, WIRE_US_IP, ack, sizeof ack);

    net_input(f, wire_dhcp_put(f, len, WIRE_DHCP_SNAME, sname, sizeof sname));
    CHECK(net_ip() == WIRE_US_IP && net_if.gw == 0 && net_if.mask == net_prefix_mask(24));
}

/* RFC 2131 4.4.5: T1 (option 58) and T2 (59) as the server gives them. */
static void test_server_t1_and_t2_are_used(void)
{
    static const uint8_t o[] = {ACK_HEAD, DHCP_OPT_LEASE, 4, 0, 0, 0, LEASE_S,
                                DHCP_OPT_T1, 4, 0, 0, 0, 20, DHCP_OPT_T2, 4, 0, 0, 0, 30,
                                DHCP_OPT_END};
    struct msg m;

    bind_with(WIRE_US_IP, o, sizeof o);
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    host_tx_clear();
    advance(20000 - 1);
    no_msg();
    advance(1);
    m = expect_msg(DHCP_REQUEST);                           /* renewing: unicast */
    CHECK(m.ip_dst == SERVER_IP && m.ciaddr == WIRE_US_IP);
    advance(10000 - 1);
    while (next_msg(&m)) CHECK(m.ip_dst == SERVER_IP);
    advance(1);
    m = expect_msg(DHCP_REQUEST);                           /* rebinding: broadcast */
    CHECK(m.ip_dst == 0xffffffffu && m.ciaddr == WIRE_US_IP);
}

/* T1 and T2 at or past the lease are not believed: half and 7/8 of it instead. */
static void test_t1_t2_beyond_the_lease_take_the_defaults(void)
{
    static const uint8_t o[] = {ACK_HEAD, DHCP_OPT_LEASE, 4, 0, 0, 0, LEASE_S,
                                DHCP_OPT_T1, 4, 0, 0, 0, LEASE_S, DHCP_OPT_T2, 4, 0xff, 0, 0, 0,
                                DHCP_OPT_END};
    struct msg m;

    bind_with(WIRE_US_IP, o, sizeof o);
    net_input(f, wire_arp(f, 2, wire_peer_mac, SERVER_IP, WIRE_US_IP));
    host_tx_clear();
    advance(LEASE_S * 500 - 1);
    no_msg();
    advance(1);
    m = expect_msg(DHCP_REQUEST);
    CHECK(m.ip_dst == SERVER_IP);
    advance(LEASE_S * 375 - 1);
    while (next_msg(&m)) CHECK(m.ip_dst == SERVER_IP);
    advance(1);
    m = expect_msg(DHCP_REQUEST);
    CHECK(m.ip_dst == 0xffffffffu);
}

/* The hostname is copied into a fixed-size message: a longer one is cut at 63 (a DNS label). */
static void test_long_hostname_is_cut(void)
{
    static char name[300];
    struct msg m;

    memset(name, 'h', sizeof name - 1);
    dhcp_start(name);
    advance(0);
    m = expect_msg(DHCP_DISCOVER);
    CHECK(strlen(m.hostname) == 63 && m.hostname[62] == 'h');
}

/* ---- Malformed ---- */

static void test_malformed_replies_are_dropped_and_counted(void)
{
    struct msg d;
    uint16_t len;
    uint8_t *m = f + 42;

    advance(0);
    d = expect_msg(DHCP_DISCOVER);
    /* Short: the fixed part cut at 239 bytes. */
    len = reply(DHCP_OFFER, d.xid, 0xffffffffu);
    net_input(f, wire_udp(f, SERVER_IP, 0xffffffffu, 67, 68, 239));
    CHECK(net_stats.drop_dhcp == 1);
    /* Bad magic cookie. */
    len = reply(DHCP_OFFER, d.xid, 0xffffffffu);
    m[239] ^= 1;
    wire_fix_checksums(f, len);
    net_input(f, len);
    CHECK(net_stats.drop_dhcp == 2);
    /* The message type option runs past the end of the message. */
    net_input(f, wire_dhcp(f, 0xffffffffu, d.xid, wire_us_mac, WIRE_US_IP,
                           (const uint8_t[]){DHCP_OPT_TYPE, 2, DHCP_OFFER}, 3));
    CHECK(net_stats.drop_dhcp == 3);
    /* The server id option does (the type before it is whole). */
    net_input(f, wire_dhcp(f, 0xffffffffu, d.xid, wire_us_mac, WIRE_US_IP,
                           (const uint8_t[]){DHCP_OPT_TYPE, 1, DHCP_OFFER, DHCP_OPT_SERVER_ID, 4,
                                             10, 0},
                           7));
    CHECK(net_stats.drop_dhcp == 4);
    /* No options at all; a BOOTREQUEST; an OFFER of address 0. */
    net_input(f, wire_dhcp(f, 0xffffffffu, d.xid, wire_us_mac, WIRE_US_IP, f, 0));
    CHECK(net_stats.drop_dhcp == 5);
    len = reply(DHCP_OFFER, d.xid, 0xffffffffu);
    m[0] = DHCP_BOOTREQUEST;
    wire_fix_checksums(f, len);
    net_input(f, len);
    CHECK(net_stats.drop_dhcp == 6);
    len = reply(DHCP_OFFER, d.xid, 0xffffffffu);
    memset(m + 16, 0, 4);
    wire_fix_checksums(f, len);
    net_input(f, len);
    CHECK(net_stats.drop_dhcp == 7);
    /* Nothing was taken: still selecting; a sound offer is still taken. */
    advance(0);
    no_msg();
    CHECK(!net_is_configured() && net_stats.drop_udp == 0);
    send_reply(DHCP_OFFER, d.xid);
    advance(0);
    expect_msg(DHCP_REQUEST);
    /* A second OFFER while requesting is not taken either. */
    send_reply(DHCP_OFFER, d.xid);
    CHECK(net_stats.drop_dhcp == 8);
}

static void test_replies_at_the_wrong_time_are_dropped(void)
{
    struct msg r;

    advance(0);
    r = expect_msg(DHCP_DISCOVER);
    send_reply(DHCP_ACK, r.xid);                             /* nothing was requested */
    CHECK(!net_is_configured() && net_stats.drop_dhcp == 1);
    send_reply(DHCP_NAK, r.xid);
    CHECK(net_stats.drop_dhcp == 2);
    send_reply(DHCP_OFFER, r.xid);
    advance(0);
    r = expect_msg(DHCP_REQUEST);
    send_reply(DHCP_ACK, r.xid);
    CHECK(net_is_configured());
    send_reply(DHCP_NAK, r.xid);                             /* bound: not renewing */
    send_reply(DHCP_OFFER, r.xid);
    CHECK(net_is_configured() && net_stats.drop_dhcp == 4);
}

static void before(void)
{
    wire_init(1, 1);
}

int main(void)
{
    static const struct test tests[] = {
        {"DISCOVER at start, random xid", test_discover_at_start},
        {"DISCOVER retransmitted with backoff", test_discover_retransmitted_with_backoff},
        {"OFFER with a wrong xid or MAC ignored", test_offer_for_someone_else_is_ignored},
        {"OFFER, REQUEST, ACK configures", test_offer_request_ack_configures},
        {"OFFER and ACK unicast to the offered address",
         test_offer_and_ack_unicast_to_the_offered_address},
        {"ACK without options: /24, no router, 10 s", test_ack_without_options_gets_defaults},
        {"NAK while requesting restarts", test_nak_while_requesting_restarts},
        {"unanswered REQUEST restarts", test_unanswered_request_restarts},
        {"renewal at T1, ACK extends the lease", test_renewal_at_t1_and_ack_extends_the_lease},
        {"NAK while renewing drops the address", test_nak_while_renewing_drops_the_address},
        {"unanswered renewal rebinds, then expires", test_unanswered_renewal_rebinds_then_expires},
        {"timers across the clock wrap", test_timers_across_the_clock_wrap},
        {"/32 lease: the router stays, on the link", test_slash32_lease_keeps_the_router_on_link},
        {"/31 lease: the peer is a host, not a broadcast", test_slash31_peer_is_a_host},
        {"option overload: options in file and sname", test_overloaded_options_in_file_and_sname},
        {"option overload: file only, sname not read", test_overload_of_file_only_leaves_sname_alone},
        {"T1 and T2 from the server", test_server_t1_and_t2_are_used},
        {"T1/T2 beyond the lease: defaults", test_t1_t2_beyond_the_lease_take_the_defaults},
        {"a long hostname is cut at 63", test_long_hostname_is_cut},
        {"malformed replies dropped and counted", test_malformed_replies_are_dropped_and_counted},
        {"replies at the wrong time dropped", test_replies_at_the_wrong_time_are_dropped},
    };
    return run_tests("dhcp", tests, sizeof tests / sizeof tests[0], before);
}
