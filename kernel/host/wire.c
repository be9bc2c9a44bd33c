/* wire.c — frames for the tests and the fuzzer (see wire.h). */
#include <string.h>
#include "wire.h"
#include "stack.h"
#include "proto/ip.h"
#include "proto/tcp.h"

const uint8_t wire_us_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const uint8_t wire_peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

/* RFC 1071, as an oracle of our own rather than the stack's inet_checksum. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    for (; n > 1; p += 2, n -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
    if (n) sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t tcp_csum(const uint8_t *ip, const uint8_t *seg, uint16_t len)
{
    uint32_t sum = sum16(ip + 12, 8, 0) + IP_PROTO_TCP + len;
    return fold(sum16(seg, len, sum));
}

void wire_init(uint32_t seed, int use_dhcp)
{
    struct net_config cfg = {
        .use_dhcp = use_dhcp, .prefix = 24, .http_port = WIRE_PORT, .hostname = "exoform",
    };
    uint32_t ip = WIRE_US_IP;
    uint8_t arp[14 + 28];

    memcpy(cfg.mac, wire_us_mac, 6);
    memcpy(&cfg.ip, &ip, 4);
    host_reset(seed, 1000);
    memset(&net_stats, 0, sizeof net_stats);
    memset(&net_if, 0, sizeof net_if);  /* no address left over from the previous test */
    tcp_init(WIRE_PORT);            /* as kernel main: TCP on the port, then the address */
    net_init(&cfg);
    /* The peer asks for us, so ARP knows it before the first reply (as a real client does). */
    if (!use_dhcp) net_input(arp, wire_arp(arp, 1, wire_peer_mac, WIRE_PEER_IP, ip));
    host_tx_clear();
    memset(&net_stats, 0, sizeof net_stats);
}

void wire_send(const struct wire_seg *s)
{
    uint8_t f[14 + 20 + 60 + 1460];
    uint8_t *t = f + 14 + 20;
    uint16_t n = (uint16_t)(20 + s->optlen + s->len), len;

    memset(t, 0, 20);
    wr16(t, s->sport);
    wr16(t + 2, s->dport);
    wr32(t + 4, s->seq);
    wr32(t + 8, s->ack);
    t[12] = (uint8_t)((5 + s->optlen / 4) << 4);
    t[13] = s->flags;
    wr16(t + 14, s->wnd);
    memcpy(t + 20, s->opt, s->optlen);
    memcpy(t + 20 + s->optlen, s->data, s->len);
    len = wire_ip(f, s->src, s->dst, IP_PROTO_TCP, n);
    if (s->bad_csum) t[16] ^= 0x55, t[17] ^= 0x55;
    net_input(f, len);
}

uint16_t wire_ip(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, uint16_t n)
{
    uint8_t *ip = f + 14;

    memcpy(f, wire_us_mac, 6);
    memcpy(f + 6, wire_peer_mac, 6);
    wr16(f + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(20 + n));
    ip[6] = 0x40;                   /* DF */
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    wire_fix_checksums(f, (uint16_t)(14 + 20 + n));
    return (uint16_t)(14 + 20 + n);
}

uint16_t wire_udp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint16_t n)
{
    uint8_t *u = f + 14 + 20;

    wr16(u, sport);
    wr16(u + 2, dport);
    wr16(u + 4, (uint16_t)(8 + n));
    return wire_ip(f, src, dst, 17, (uint16_t)(8 + n));
}

uint16_t wire_arp(uint8_t *f, uint16_t oper, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
    memcpy(f, oper == 1 ? (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : wire_us_mac, 6);
    memcpy(f + 6, sha, 6);
    wr16(f + 12, 0x0806);
    wr16(f + 14, 1);                /* Ethernet */
    wr16(f + 16, 0x0800);           /* IPv4 */
    f[18] = 6, f[19] = 4;
    wr16(f + 20, oper);
    memcpy(f + 22, sha, 6);
    memcpy(f + 28, &spa, 4);
    if (oper == 1)
        memset(f + 32, 0, 6);
    else
        memcpy(f + 32, wire_us_mac, 6);
    memcpy(f + 38, &tpa, 4);
    return 14 + 28;
}

uint16_t wire_dhcp(uint8_t *f, uint32_t dst, const uint8_t *xid, const uint8_t *chaddr,
                   uint32_t yiaddr, const uint8_t *opts, uint16_t n)
{
    uint8_t *m = f + 14 + 20 + 8;

    memset(m, 0, 240);
    m[0] = 2;                       /* BOOTREPLY */
    m[1] = 1, m[2] = 6;
    memcpy(m + 4, xid, 4);
    memcpy(m + 16, &yiaddr, 4);
    memcpy(m + 28, chaddr, 6);
    wr32(m + 236, 0x63825363);
    memcpy(m + 240, opts, n);
    return wire_udp(f, WIRE_PEER_IP, dst, 67, 68, (uint16_t)(240 + n));
}

uint16_t wire_dhcp_put(uint8_t *f, uint16_t len, uint16_t at, const uint8_t *bytes, uint16_t n)
{
    memcpy(f + 14 + 20 + 8 + at, bytes, n);
    wire_fix_checksums(f, len);
    return len;
}

int wire_parse(const uint8_t *f, uint16_t len, struct wire_seg *s)
{
    const uint8_t *ip = f + 14, *t = ip + 20;
    uint16_t il, hl;

    if (len >= 14 + 28 && rd16(f + 12) == 0x0806) return 0;
    if (len < 14 + 20 || rd16(f + 12) != 0x0800 || ip[0] != 0x45 || fold(sum16(ip, 20, 0)) != 0)
        return -1;
    il = rd16(ip + 2);
    if (il < 20 || 14 + il > len) return -1;
    if (ip[9] != IP_PROTO_TCP) return 0;
    if (il < 40) return -1;
    hl = (uint16_t)((t[12] >> 4) * 4);
    if (hl < 20 || hl > il - 20 || tcp_csum(ip, t, (uint16_t)(il - 20)) != 0) return -1;
    memcpy(&s->src, ip + 12, 4);
    memcpy(&s->dst, ip + 16, 4);
    s->sport = rd16(t);
    s->dport = rd16(t + 2);
    s->seq = rd32(t + 4);
    s->ack = rd32(t + 8);
    s->flags = t[13];
    s->wnd = rd16(t + 14);
    s->optlen = (uint8_t)(hl - 20);
    memcpy(s->opt, t + 20, s->optlen);
    s->len = (uint16_t)(il - 20 - hl);
    memcpy(s->data, t + hl, s->len);
    return 1;
}

int wire_recv(struct wire_seg *s)
{
    const struct host_frame *fr;
    int got;

    while ((fr = host_tx_next()))
        if ((got = wire_parse(fr->data, fr->len, s)) != 0) return got;
    return 0;
}

void wire_fix_checksums(uint8_t *f, uint16_t len)
{
    uint8_t *ip = f + 14;
    uint16_t ihl, il;

    if (len < 14 + 20 || rd16(f + 12) != 0x0800 || (ip[0] >> 4) != 4) return;
    ihl = (uint16_t)((ip[0] & 15) * 4);
    il = rd16(ip + 2);
    if (ihl < 20 || il < ihl || 14 + il > len) return;
    wr16(ip + 10, 0);
    wr16(ip + 10, fold(sum16(ip, ihl, 0)));
    {
        uint8_t *t = ip + ihl;
        uint16_t n = (uint16_t)(il - ihl), at = ip[9] == IP_PROTO_TCP ? 16 : ip[9] == 17 ? 6 : 2;
        uint32_t pseudo = ip[9] == 1 ? 0 : sum16(ip + 12, 8, 0) + ip[9] + n;
        if ((ip[9] != IP_PROTO_TCP && ip[9] != 17 && ip[9] != 1) || n < at + 2) return;
        wr16(t + at, 0);
        wr16(t + at, fold(sum16(t, n, pseudo)));
    }
}

int wire_checksums_ok(const uint8_t *f, uint16_t len)
{
    const uint8_t *ip = f + 14;
    uint16_t il, n;

    if (len < 14 + 20 || rd16(f + 12) != 0x0800 || ip[0] != 0x45 || fold(sum16(ip, 20, 0)) != 0)
        return 0;
    il = rd16(ip + 2);
    if (il < 20 || 14 + il > len) return 0;
    n = (uint16_t)(il - 20);
    if (ip[9] == 1) return fold(sum16(ip + 20, n, 0)) == 0;
    if (ip[9] != IP_PROTO_TCP && ip[9] != 17) return 0;
    return fold(sum16(ip + 20, n, sum16(ip + 12, 8, 0) + ip[9] + n)) == 0;
}
