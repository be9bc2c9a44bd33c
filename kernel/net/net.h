/* net.h — the seams of exoform's network stack.
 *
 * The same stack (kernel/net/*.c) builds freestanding for the kernel and for Linux (unit tests,
 * fuzzing). It never calls the platform except through the four plat_* functions below: the
 * kernel implements them with the virtio-net driver and the PIT/TSC, the host build with a fake
 * NIC (kernel/host/).
 *
 * Conventions: IPv4 addresses are uint32_t in NETWORK byte order (the bytes as on the wire,
 * copied with memcpy); ports and lengths in function arguments are host order. Frames and
 * packets are byte arrays; multi-byte header fields are read and written through the helpers
 * in proto/*.h, so alignment never matters.
 */
#ifndef EXO_NET_H
#define EXO_NET_H

#include <stdint.h>
#include <stddef.h>

/* ---- Platform seams: implemented by the kernel or by the host harness ---- */
uint32_t plat_now_ms(void);                      /* monotonic milliseconds since boot */
uint32_t plat_random(void);                      /* unpredictable 32 bits (ISNs, DHCP xid) */
void plat_tx(const void *frame, uint16_t len);   /* send one Ethernet frame (no FCS) */
void plat_log(const char *line);                 /* one console line, without '\n' */

/* The stack's printf: %s string, %u unsigned int, %x the low byte of an unsigned int as 2 hex
 * digits, %I IPv4 address (uint32_t, network order), %M MAC (const uint8_t *); an argument of a
 * narrower integer type is promoted to int, which these read correctly.
 * net_format writes at most cap - 1 chars and a NUL into out and returns the end (the NUL);
 * net_logf prints one console line, cut at 159 chars. */
char *net_format(char *out, size_t cap, const char *fmt, ...);
void net_logf(const char *fmt, ...);

/* ---- Configuration ---- */
struct net_config {
    uint8_t mac[6];
    int use_dhcp;          /* 1: obtain address by DHCP; 0: static ip/prefix/gw below */
    uint32_t ip;           /* network order */
    uint8_t prefix;        /* 0..32 */
    uint32_t gw;           /* network order, 0 = none */
    uint16_t http_port;    /* host order */
    const char *hostname;  /* NUL-terminated */
};

/* Every dropped frame or packet is counted under the reason it was dropped. The drop counters
 * are also the array drops[], so that a sum of all of them (/health) takes each one by
 * construction, not by where it sits among the other fields; the assertion below fails when a
 * counter is added to the group without counting it in NET_DROP_COUNTERS. */
#define NET_DROP_COUNTERS 14
struct net_stats {
    uint32_t rx_frames, tx_frames;
    uint32_t icmp_echo_replied, tcp_conns, http_requests, http_errors;
    union {
        struct {
            uint32_t drop_eth, drop_arp, drop_ip_hdr, drop_ip_csum, drop_ip_frag, drop_ip_notme;
            uint32_t drop_icmp, drop_udp, drop_tcp, drop_tcp_full, drop_dhcp, drop_noroute;
            uint32_t drop_ip_proto;  /* IPv4 protocol we do not speak */
            uint32_t drop_tx;        /* frame not sent: the NIC's transmit ring stayed full */
        };
        uint32_t drops[NET_DROP_COUNTERS];
    };
};
_Static_assert(sizeof(struct net_stats) == (6 + NET_DROP_COUNTERS) * sizeof(uint32_t),
               "every drop_* counter is in drops[]");
extern struct net_stats net_stats;

/* Prefix length (0..32) → netmask, network order. */
static inline uint32_t net_prefix_mask(uint8_t prefix)
{
    return prefix ? __builtin_bswap32(~0u << (32 - prefix)) : 0;
}

/* ---- Stack entry points (called by the platform) ---- */
void net_init(const struct net_config *cfg);
void net_input(const uint8_t *frame, uint16_t len);  /* one received Ethernet frame */
void net_poll(void);                                /* run timers: ARP, DHCP, TCP */
int net_is_configured(void);                        /* 1 once the interface has an address */
uint32_t net_ip(void);                              /* our address, network order (0 if none) */

/* ---- Between layers ---- */
/* Send an IPv4 packet carrying `len` bytes of `proto` payload to `dst`. Resolves the next hop
 * by ARP (through the gateway when off-subnet). Returns 0 when sent, -1 when dropped (no
 * route, ARP unresolved: an ARP request is sent, the caller's retransmission covers the loss). */
int ip_output(uint32_t dst, uint8_t proto, const uint8_t *payload, uint16_t len);

/* Internet checksum over buf, starting from the partial sum `sum` (host order fold). */
uint16_t inet_checksum(const void *buf, size_t len, uint32_t sum);
/* Partial sum of the IPv4 pseudo-header, to seed inet_checksum for TCP/UDP. */
uint32_t ip_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* UDP (DHCP rides on it). */
void udp_input(uint32_t src, uint32_t dst, const uint8_t *dgram, uint16_t len);

/* TCP and HTTP (kernel part 2). `seg` is the TCP header + data; src/dst network order. */
void tcp_init(uint16_t listen_port);  /* before net_init, so the first address announces it */
void tcp_announce(void);             /* "exo: http listening on <port>", once an address is set */
void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, uint16_t len);
void tcp_poll(uint32_t now_ms);

#endif
