/* wire.h — what the tests and the fuzzer put on the fake wire and read back: TCP segments in
 * Ethernet + IPv4 frames, built and checked here independently of the stack's own code. */
#ifndef EXO_WIRE_H
#define EXO_WIRE_H

#include "host.h"

#define WIRE_US_IP   0x0500000aU     /* 10.0.0.5 as the bytes on the wire (network order) */
#define WIRE_PEER_IP 0x0100000aU     /* 10.0.0.1 */
#define WIRE_PORT 80

extern const uint8_t wire_us_mac[6], wire_peer_mac[6];

struct wire_seg {
    uint32_t src, dst;               /* network order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint8_t bad_csum;                /* wire_send: spoil the TCP checksum */
    uint16_t wnd;
    uint8_t optlen;                  /* a multiple of 4 */
    uint8_t opt[40];
    uint16_t len;
    uint8_t data[1460];
};

/* tcp_init, then net_init with the static configuration the tests assume (10.0.0.5/24, port
 * 80), or with DHCP (then the peer is not known to ARP either), as kernel main does. */
void wire_init(uint32_t seed, int use_dhcp);
/* Wrap s in Ethernet and IPv4 (valid checksums) and hand it to net_input. */
void wire_send(const struct wire_seg *s);
/* The next TCP segment the stack sent: 1; none left: 0; a malformed frame (bad IPv4 header
 * or checksum, bad TCP checksum or offset): -1. ARP and non-TCP IPv4 frames are skipped. */
int wire_recv(struct wire_seg *s);
/* One frame: a TCP segment (1, parsed into s), another sound frame (0: ARP, other IPv4), or a
 * malformed one (-1). */
int wire_parse(const uint8_t *frame, uint16_t len, struct wire_seg *s);
/* Give an IPv4 frame valid IPv4 and TCP, UDP or ICMP checksums (for the fuzzer). */
void wire_fix_checksums(uint8_t *frame, uint16_t len);

#endif
