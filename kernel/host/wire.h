/* wire.h — what the tests and the fuzzer put on the fake wire and read back: TCP segments, and
 * ARP, ICMP and DHCP frames, built and checked here independently of the stack's own code. */
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
/* 1 if frame is IPv4 with valid IPv4 and TCP, UDP or ICMP checksums, else 0. */
int wire_checksums_ok(const uint8_t *frame, uint16_t len);

/* Frame builders for the other layers; they return the frame's length.
 * wire_ip: Ethernet from the peer to us, then IPv4 (IHL 5, DF, TTL 64) from src to dst around
 * the n payload bytes already at frame + 34, with valid IPv4 and TCP/UDP/ICMP checksums. */
uint16_t wire_ip(uint8_t *frame, uint32_t src, uint32_t dst, uint8_t proto, uint16_t n);
/* wire_udp: the same with a UDP header around the n bytes already at frame + 42. */
uint16_t wire_udp(uint8_t *frame, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint16_t n);
/* An ARP request (broadcast, tha zero) or reply (to us, tha ours) from sha/spa for tpa. */
uint16_t wire_arp(uint8_t *frame, uint16_t oper, const uint8_t *sha, uint32_t spa, uint32_t tpa);
/* A DHCP reply from the server (the peer) to dst, ports 67 → 68: BOOTREPLY with xid, chaddr,
 * yiaddr, the magic cookie and n option bytes (END not added). */
uint16_t wire_dhcp(uint8_t *frame, uint32_t dst, const uint8_t *xid, const uint8_t *chaddr,
                   uint32_t yiaddr, const uint8_t *opts, uint16_t n);
/* Overwrite n bytes at offset `at` of the DHCP message in a wire_dhcp frame of len bytes (the
 * sname and file fields, for option overload) and fix the checksums; returns len. */
#define WIRE_DHCP_SNAME 44
#define WIRE_DHCP_FILE 108
uint16_t wire_dhcp_put(uint8_t *frame, uint16_t len, uint16_t at, const uint8_t *bytes, uint16_t n);

#endif
