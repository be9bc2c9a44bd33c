/* ip.h — IPv4 header without options (RFC 791). */
#ifndef EXO_PROTO_IP_H
#define EXO_PROTO_IP_H

#include <stdint.h>

struct ip_hdr {
    uint8_t ver_ihl;   /* version 4 (high nibble), header length in 32-bit words (low) */
    uint8_t tos;
    uint8_t len[2];    /* total length: header + payload */
    uint8_t id[2];
    uint8_t frag[2];   /* flags (3 bits) and fragment offset (13 bits) */
    uint8_t ttl;
    uint8_t proto;     /* IP_PROTO_* */
    uint8_t csum[2];
    uint8_t src[4];
    uint8_t dst[4];
};
_Static_assert(sizeof(struct ip_hdr) == 20, "IPv4 header is 20 bytes");

#define IP_HLEN 20
#define IP_VER_IHL 0x45            /* version 4, 5 words: what we send */
#define IP_FRAG_MF_OFFSET 0x3FFF   /* "more fragments" flag and offset: any set = a fragment */
#define IP_TTL 64
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP_BROADCAST 0xFFFFFFFFu

#endif
