/* udp.h — UDP header (RFC 768). */
#ifndef EXO_PROTO_UDP_H
#define EXO_PROTO_UDP_H

#include <stdint.h>

struct udp_hdr {
    uint8_t sport[2];
    uint8_t dport[2];
    uint8_t len[2];   /* header + data */
    uint8_t csum[2];  /* over pseudo-header + header + data; 0 = none */
};
_Static_assert(sizeof(struct udp_hdr) == 8, "UDP header is 8 bytes");

#define UDP_HLEN 8

#endif
