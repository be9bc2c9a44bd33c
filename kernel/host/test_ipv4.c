/* test_ipv4.c — ARP, IPv4 input checks and ICMP echo on the host.
 *
 * Frames go in through net_input (built by wire.c) and come out of the fake NIC; every drop is
 * checked against the one net_stats counter it must land in. */
#include <string.h>
#include "check.h"
#include "stack.h"
#include "wire.h"
#include "proto/bytes.h"
#include "proto/eth.h"

/* Addresses of other hosts (a new address clears the ARP cache, so each test starts empty). */
#define ASKER_IP 0x0800000aU         /* 10.0.0.8 */
#define OTHER_IP 0x0700000aU         /* 10.0.0.7: on our subnet, not yet known to ARP */
#define GW_IP 0xfe00000aU            /* 10.0.0.254 */
#define FAR_IP 0x090200c0U           /* 192.0.2.9: off our subnet */

static const uint8_t other_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x07};
static const uint8_t gw_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
static uint8_t f[1514];

static uint32_t ip_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The sum of every drop counter: a dropped frame must raise exactly one. */
static uint32_t drops(void)
{
    const struct net_stats *s = &net_stats;
    return s->drop_eth + s->drop_arp + s->drop_ip_hdr + s->drop_ip_csum + s->drop_ip_frag +
           s->drop_ip_notme + s->drop_icmp + s->drop_udp + s->drop_tcp + s->drop_tcp_full +
           s->drop_dhcp + s->drop_noroute + s->drop_ip_proto + s->drop_tx;
}

/* An echo request from src to dst with n data bytes (a pattern), as a frame in f. */
static uint16_t echo_request(uint32_t src, uint32_t dst, uint16_t n)
{
    uint8_t *icmp = f + 34;
    uint16_t i;

    memset(icmp, 0, 8);
    icmp[0] = 8;
    wr16(icmp + 4, 0x1234);         /* id */
    wr16(icmp + 6, (uint16_t)(n + 1)); /* sequence */
    for (i = 0; i < n; i++) icmp[8 + i] = (uint8_t)(i * 7 + n);
    return wire_ip(f, src, dst, 1, (uint16_t)(8 + n));
}

/* The next frame sent, which must be an ARP packet of `oper` for tpa; returns it. */
static const struct host_frame *expect_arp(uint16_t oper, uint32_t tpa)
{
    const struct host_frame *fr = host_tx_next();

    CHECK(fr && fr->len == 42 && rd16(fr->data + 12) == 0x0806);
    CHECK(rd16(fr->data + 14) == 1 && rd16(fr->data + 16) == 0x0800);
    CHECK(fr->data[18] == 6 && fr->data[19] == 4 && rd16(fr->data + 20) == oper);
    CHECK(memcmp(fr->data + 6, wire_us_mac, 6) == 0 && memcmp(fr->data + 22, wire_us_mac, 6) == 0);
    CHECK(ip_at(fr->data + 28) == WIRE_US_IP && ip_at(fr->data + 38) == tpa);
    if (oper == 1) {
        static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        CHECK(memcmp(fr->data, bcast, 6) == 0);
    }
    return fr;
}

/* The next frame sent, which must be the echo reply to the request in f (n data bytes) sent
 * to dst through the Ethernet address mac. */
static void expect_echo_reply(uint32_t dst, const uint8_t *mac, uint16_t n)
{
    const struct host_frame *fr = host_tx_next();
    const uint8_t *ip, *icmp;

    CHECK(fr && fr->len == 34 + 8 + n);
    CHECK(wire_checksums_ok(fr->data, fr->len));
    CHECK(memcmp(fr->data, mac, 6) == 0 && memcmp(fr->data + 6, wire_us_mac, 6) == 0);
    ip = fr->data + 14;
    icmp = ip + 20;
    CHECK(rd16(ip + 2) == 20 + 8 + n && ip[9] == 1 && (rd16(ip + 6) & 0x3fff) == 0 && ip[8] > 0);
    CHECK(ip_at(ip + 12) == WIRE_US_IP && ip_at(ip + 16) == dst);
    CHECK(icmp[0] == 0 && icmp[1] == 0);
    CHECK(memcmp(icmp + 4, f + 34 + 4, 4 + n) == 0);   /* id, sequence and data */
}

static void no_more(void)
{
    CHECK(host_tx_pending() == 0);
}

/* ---- ARP ---- */

static void test_arp_reply_for_our_address(void)
{
    const struct host_frame *fr;

    net_input(f, wire_arp(f, 1, other_mac, ASKER_IP, WIRE_US_IP));
    fr = expect_arp(2, ASKER_IP);
    CHECK(memcmp(fr->data, other_mac, 6) == 0 && memcmp(fr->data + 32, other_mac, 6) == 0);
    no_more();
    CHECK(drops() == 0);
    /* The asker is learned: a ping from it is answered at once. */
    net_input(f, echo_request(ASKER_IP, WIRE_US_IP, 4));
    expect_echo_reply(ASKER_IP, other_mac, 4);
    no_more();
}

static void test_arp_no_reply_for_other_addresses(void)
{
    net_input(f, wire_arp(f, 1, other_mac, OTHER_IP, 0x0900000aU));
    net_input(f, wire_arp(f, 1, other_mac, OTHER_IP, GW_IP));
    no_more();
    CHECK(drops() == 0 && net_stats.rx_frames == 2);
    /* Nor is the asker learned (it did not talk to us): a ping from it needs ARP first. */
    net_input(f, echo_request(OTHER_IP, WIRE_US_IP, 4));
    expect_arp(1, OTHER_IP);
    no_more();
}

static void test_unresolved_next_hop_is_asked_and_the_reply_learned(void)
{
    net_input(f, echo_request(OTHER_IP, WIRE_US_IP, 56));
    expect_arp(1, OTHER_IP);
    no_more();
    CHECK(drops() == 0);                    /* the reply is held for the answer */
    /* A reply from someone we did not ask about is not stored... */
    net_input(f, wire_arp(f, 2, gw_mac, GW_IP, 0x0900000aU));
    no_more();
    /* ...the answer to our question is, and the held reply goes out. */
    net_input(f, wire_arp(f, 2, other_mac, OTHER_IP, WIRE_US_IP));
    echo_request(OTHER_IP, WIRE_US_IP, 56);    /* what expect_echo_reply compares with */
    expect_echo_reply(OTHER_IP, other_mac, 56);
    no_more();
    net_input(f, echo_request(OTHER_IP, WIRE_US_IP, 56));
    expect_echo_reply(OTHER_IP, other_mac, 56);
    no_more();
    CHECK(net_stats.icmp_echo_replied == 2 && drops() == 0);
    net_input(f, echo_request(GW_IP, WIRE_US_IP, 56));
    expect_arp(1, GW_IP);                   /* the unasked-for reply was not stored */
    no_more();
    /* A later reply with a new MAC replaces the entry. */
    net_input(f, wire_arp(f, 2, gw_mac, OTHER_IP, WIRE_US_IP));
    net_input(f, echo_request(OTHER_IP, WIRE_US_IP, 56));
    expect_echo_reply(OTHER_IP, gw_mac, 56);
    no_more();
    CHECK(drops() == 0);
}

/* 10.0.0.<n> with MAC 02:00:00:00:01:<n>, taught to ARP by its request for us. */
static uint32_t host_ip(uint8_t n) { return 0x0000000aU | (uint32_t)n << 24; }

static void learn(uint8_t n)
{
    const uint8_t mac[6] = {2, 0, 0, 0, 1, n};

    net_input(f, wire_arp(f, 1, mac, host_ip(n), WIRE_US_IP));
    expect_arp(2, host_ip(n));
}

static void test_old_entry_is_re_asked_while_used(void)
{
    const uint8_t mac[6] = {2, 0, 0, 0, 1, 10};

    learn(10);
    host_now += 60000;
    net_input(f, echo_request(host_ip(10), WIRE_US_IP, 8));
    expect_arp(1, host_ip(10));             /* re-asked... */
    expect_echo_reply(host_ip(10), mac, 8); /* ...and still used */
    no_more();
    host_now += 999;                        /* at most once a second */
    net_input(f, echo_request(host_ip(10), WIRE_US_IP, 8));
    expect_echo_reply(host_ip(10), mac, 8);
    no_more();
    host_now += 1;
    net_input(f, echo_request(host_ip(10), WIRE_US_IP, 8));
    expect_arp(1, host_ip(10));
    expect_echo_reply(host_ip(10), mac, 8);
    /* The answer confirms it for another minute. */
    net_input(f, wire_arp(f, 2, mac, host_ip(10), WIRE_US_IP));
    host_now += 59999;
    net_input(f, echo_request(host_ip(10), WIRE_US_IP, 8));
    expect_echo_reply(host_ip(10), mac, 8);
    no_more();
}

/* Askers fill free slots; once the cache is full they never push out an entry used for output
 * (RFC 826 lets us not store them), while output for a new next hop takes the least recently
 * used one. */
static void test_askers_never_replace_an_entry_in_use(void)
{
    const uint8_t mac20[6] = {2, 0, 0, 0, 1, 20};
    unsigned n;

    learn(20);
    net_input(f, echo_request(host_ip(20), WIRE_US_IP, 8));
    expect_echo_reply(host_ip(20), mac20, 8);         /* 10.0.0.20 is in use */
    for (n = 21; n < 250; n++, host_now++) learn((uint8_t)n);   /* far more askers than slots */
    net_input(f, echo_request(host_ip(20), WIRE_US_IP, 8));
    expect_echo_reply(host_ip(20), mac20, 8);         /* still known: no ARP request */
    no_more();
    net_input(f, echo_request(host_ip(21), WIRE_US_IP, 8));
    expect_arp(1, host_ip(21));                        /* askers replaced each other */
    no_more();
    net_input(f, wire_arp(f, 2, (const uint8_t[6]){2, 0, 0, 0, 1, 21}, host_ip(21), WIRE_US_IP));
    echo_request(host_ip(21), WIRE_US_IP, 8);
    expect_echo_reply(host_ip(21), (const uint8_t[6]){2, 0, 0, 0, 1, 21}, 8);
    no_more();
}

static void test_off_subnet_goes_through_the_gateway(void)
{
    net_set_address(WIRE_US_IP, 24, GW_IP, "static");
    expect_arp(1, WIRE_US_IP);              /* gratuitous */
    expect_arp(1, GW_IP);                   /* the gateway, ahead of need */
    no_more();
    net_input(f, echo_request(FAR_IP, WIRE_US_IP, 56));
    expect_arp(1, GW_IP);                   /* not FAR_IP */
    no_more();
    CHECK(drops() == 0);                    /* held for the gateway's answer */
    net_input(f, wire_arp(f, 2, gw_mac, GW_IP, WIRE_US_IP));
    echo_request(FAR_IP, WIRE_US_IP, 56);
    expect_echo_reply(FAR_IP, gw_mac, 56);
    net_input(f, echo_request(FAR_IP, WIRE_US_IP, 56));
    expect_echo_reply(FAR_IP, gw_mac, 56);
    no_more();
    /* On-subnet destinations still go direct (the new address cleared the cache: the peer asks
     * again, as it would). */
    net_input(f, wire_arp(f, 1, wire_peer_mac, WIRE_PEER_IP, WIRE_US_IP));
    expect_arp(2, WIRE_PEER_IP);
    net_input(f, echo_request(WIRE_PEER_IP, WIRE_US_IP, 56));
    expect_echo_reply(WIRE_PEER_IP, wire_peer_mac, 56);
    no_more();
}

static void test_off_subnet_without_gateway_is_no_route(void)
{
    net_input(f, echo_request(FAR_IP, WIRE_US_IP, 8));
    no_more();
    CHECK(net_stats.drop_noroute == 1 && drops() == 1);
}

static void test_malformed_arp_is_dropped_and_counted(void)
{
    static const struct {
        uint8_t at, value;
    } spoil[] = {
        {15, 6},        /* htype 6 */
        {16, 0x86},     /* ptype 0x86dd */
        {18, 8},        /* hlen */
        {19, 16},       /* plen */
        {21, 3},        /* oper 3 (RARP) */
        {22, 0x01},     /* multicast sender MAC */
    };
    unsigned i;
    uint16_t len;

    for (i = 0; i < sizeof spoil / sizeof spoil[0]; i++) {
        len = wire_arp(f, 1, other_mac, OTHER_IP, WIRE_US_IP);
        f[spoil[i].at] = spoil[i].value;
        net_input(f, len);
        CHECK(net_stats.drop_arp == i + 1);
    }
    len = wire_arp(f, 1, other_mac, OTHER_IP, WIRE_US_IP);
    net_input(f, (uint16_t)(len - 1));      /* short */
    no_more();
    CHECK(net_stats.drop_arp == i + 1 && drops() == i + 1);
    net_input(f, len);                      /* the same request, whole, is answered */
    expect_arp(2, OTHER_IP);
    no_more();
}

/* ---- IPv4 ---- */

/* Each damage to a good echo request, and the counter that must count it. */
static void test_bad_ipv4_is_dropped_under_its_counter(void)
{
    enum { HDR, CSUM, FRAG, NOTME, PROTO };
    static const struct {
        const char *what;
        uint8_t at, value, fix;        /* fix: recompute the header checksum after */
        uint16_t trim;                 /* bytes cut off the frame's end */
        uint8_t counter;
    } bad[] = {
        {"header checksum", 14 + 10, 0x5a, 0, 0, CSUM},
        {"total length > frame", 0, 0, 1, 1, HDR},
        {"IHL 4", 14, 0x44, 1, 0, HDR},
        {"IHL 0", 14, 0x40, 1, 0, HDR},
        {"version 6", 14, 0x65, 1, 0, HDR},
        {"total length < IHL", 14 + 3, 19, 1, 0, HDR},
        {"more fragments", 14 + 6, 0x20, 1, 0, FRAG},
        {"fragment offset 8", 14 + 7, 1, 1, 0, FRAG},
        {"offset, DF set", 14 + 6, 0x41, 1, 0, FRAG},
        {"protocol 99", 14 + 9, 99, 1, 0, PROTO},
        {"another address", 14 + 19, 6, 1, 0, NOTME},
        {"another subnet", 14 + 16, 11, 1, 0, NOTME},
    };
    unsigned i, counts[5] = {0};

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 56);
        uint8_t *ip = f + 14;

        if (bad[i].at) ip[bad[i].at - 14] = bad[i].value;
        if (bad[i].fix) {
            wr16(ip + 10, 0);
            wr16(ip + 10, inet_checksum(ip, 20, 0));
        }
        net_input(f, (uint16_t)(len - bad[i].trim));
        counts[bad[i].counter]++;
        if (host_tx_pending()) fprintf(stderr, "  %s: answered\n", bad[i].what);
        no_more();
        if (net_stats.drop_ip_hdr != counts[HDR] || net_stats.drop_ip_csum != counts[CSUM] ||
            net_stats.drop_ip_frag != counts[FRAG] || net_stats.drop_ip_notme != counts[NOTME] ||
            net_stats.drop_ip_proto != counts[PROTO] || drops() != i + 1)
            fprintf(stderr, "  %s: counted elsewhere\n", bad[i].what);
        CHECK(net_stats.drop_ip_hdr == counts[HDR] && net_stats.drop_ip_csum == counts[CSUM]);
        CHECK(net_stats.drop_ip_frag == counts[FRAG] && net_stats.drop_ip_notme == counts[NOTME]);
        CHECK(net_stats.drop_ip_proto == counts[PROTO] && drops() == i + 1);
    }
    /* The same request, undamaged, is answered. */
    net_input(f, echo_request(WIRE_PEER_IP, WIRE_US_IP, 56));
    expect_echo_reply(WIRE_PEER_IP, wire_peer_mac, 56);
    no_more();
}

/* RFC 1122 3.2.1.3: a broadcast or multicast source is no host's; answering it would send a
 * broadcast (one spoofed ping, a reply to every host on the link). Nor are 0.0.0.0 and the rest
 * of 0/8 ("this network", a source only while a host learns its address) and 127/8 (loopback,
 * never on a wire). */
static void test_impossible_sources_are_dropped(void)
{
    static const uint32_t src[] = {0xffffffffu, 0xff00000aU, 0x010000e0U, 0x010000f0U,
                                   0x00000000U, 0x03020100U, 0x0100007fU, 0xfeffff7fU};
    unsigned i;

    net_set_address(WIRE_US_IP, 24, GW_IP, "static");
    net_input(f, wire_arp(f, 2, gw_mac, GW_IP, WIRE_US_IP));
    host_tx_clear();
    for (i = 0; i < sizeof src / sizeof src[0]; i++) {
        net_input(f, echo_request(src[i], WIRE_US_IP, 56));
        if (host_tx_pending()) fprintf(stderr, "  source %08x answered\n", src[i]);
        no_more();
        CHECK(net_stats.drop_ip_hdr == i + 1 && drops() == i + 1);
    }
    CHECK(net_stats.icmp_echo_replied == 0);
}

static void test_frame_padding_beyond_total_length_is_ignored(void)
{
    uint16_t len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 0);

    memset(f + len, 0xee, 60 - len);        /* Ethernet minimum: 60 bytes before the FCS */
    net_input(f, 60);
    expect_echo_reply(WIRE_PEER_IP, wire_peer_mac, 0);
    no_more();
}

static void test_ip_options_are_skipped(void)
{
    uint16_t len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 56);
    uint8_t *ip = f + 14;

    memmove(ip + 24, ip + 20, len - 34);    /* four bytes of options: NOP NOP NOP END */
    memcpy(ip + 20, "\x01\x01\x01\x00", 4);
    ip[0] = 0x46;
    wr16(ip + 2, (uint16_t)(rd16(ip + 2) + 4));
    wire_fix_checksums(f, (uint16_t)(len + 4));
    net_input(f, (uint16_t)(len + 4));
    memmove(ip + 20, ip + 24, len - 34);    /* what the reply must carry */
    expect_echo_reply(WIRE_PEER_IP, wire_peer_mac, 56);
    no_more();
}

/* ---- ICMP ---- */

static void test_echo_reply_has_the_same_payload(void)
{
    static const uint16_t sizes[] = {0, 1, 56, 57, 1000, 1472};
    unsigned i;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        net_input(f, echo_request(WIRE_PEER_IP, WIRE_US_IP, sizes[i]));
        if (host_tx_pending() != 1) fprintf(stderr, "  size %u not answered\n", sizes[i]);
        expect_echo_reply(WIRE_PEER_IP, wire_peer_mac, sizes[i]);
        no_more();
        CHECK(net_stats.icmp_echo_replied == i + 1);
    }
    CHECK(drops() == 0);
}

static void test_bad_icmp_is_dropped(void)
{
    uint16_t len;

    len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 56);
    f[34 + 8] ^= 1;                         /* data no longer matches the checksum */
    net_input(f, len);
    len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 56);
    f[34] = 13;                             /* timestamp request: not answered */
    wire_fix_checksums(f, len);
    net_input(f, len);
    len = echo_request(WIRE_PEER_IP, WIRE_US_IP, 0);
    f[14 + 3] = 20 + 7;                     /* shorter than an echo header */
    wire_fix_checksums(f, len);
    net_input(f, (uint16_t)(len - 1));
    /* Echo to a broadcast address: no reply (no smurf amplifier). */
    net_input(f, echo_request(WIRE_PEER_IP, 0xffffffffu, 56));
    net_input(f, echo_request(WIRE_PEER_IP, 0xff00000aU, 56));
    no_more();
    CHECK(net_stats.drop_icmp == 5 && drops() == 5 && net_stats.icmp_echo_replied == 0);
}

/* Every copy into a fixed buffer checks the length first: a datagram larger than UDP's
 * 1480-byte buffer is refused before it is copied (ASan would catch the overflow). */
static void test_udp_output_refuses_oversized_data(void)
{
    static uint8_t data[ETH_MTU];

    CHECK(udp_output(WIRE_PEER_IP, 68, 67, data, ETH_MTU - 20 - 8 + 1) == -1);
    CHECK(udp_output(WIRE_PEER_IP, 68, 67, data, 0xffff) == -1);
    no_more();
    CHECK(net_stats.drop_udp == 2 && drops() == 2);
    CHECK(udp_output(WIRE_PEER_IP, 68, 67, data, ETH_MTU - 20 - 8) == 0);
    CHECK(host_tx_pending() == 1);
}

static void before(void)
{
    wire_init(1, 0);
}

int main(void)
{
    static const struct test tests[] = {
        {"ARP: reply for our address", test_arp_reply_for_our_address},
        {"ARP: no reply for other addresses", test_arp_no_reply_for_other_addresses},
        {"ARP: unresolved next hop asked, reply learned",
         test_unresolved_next_hop_is_asked_and_the_reply_learned},
        {"ARP: an old entry is re-asked while used", test_old_entry_is_re_asked_while_used},
        {"ARP: askers never replace an entry in use", test_askers_never_replace_an_entry_in_use},
        {"ARP: off-subnet through the gateway", test_off_subnet_goes_through_the_gateway},
        {"off-subnet without a gateway: no route", test_off_subnet_without_gateway_is_no_route},
        {"ARP: malformed dropped and counted", test_malformed_arp_is_dropped_and_counted},
        {"IPv4: bad packets dropped under their counters",
         test_bad_ipv4_is_dropped_under_its_counter},
        {"IPv4: broadcast, multicast, 0/8 and 127/8 sources dropped",
         test_impossible_sources_are_dropped},
        {"IPv4: Ethernet padding ignored", test_frame_padding_beyond_total_length_is_ignored},
        {"IPv4: options skipped", test_ip_options_are_skipped},
        {"ICMP: echo reply, same payload, sizes 0..1472", test_echo_reply_has_the_same_payload},
        {"ICMP: bad messages dropped", test_bad_icmp_is_dropped},
        {"UDP: oversized output refused before the copy", test_udp_output_refuses_oversized_data},
    };
    return run_tests("ipv4", tests, sizeof tests / sizeof tests[0], before);
}
