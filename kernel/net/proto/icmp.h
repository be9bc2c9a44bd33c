/* icmp.h — ICMP echo header (RFC 792). */
#ifndef EXO_PROTO_ICMP_H
#define EXO_PROTO_ICMP_H

#include <stdint.h>

struct icmp_echo {
    uint8_t type;     /* ICMP_ECHO_REQUEST or ICMP_ECHO_REPLY */
    uint8_t code;     /* 0 */
    uint8_t csum[2];  /* over the whole ICMP message */
    uint8_t id[2];
    uint8_t seq[2];
};
_Static_assert(sizeof(struct icmp_echo) == 8, "ICMP echo header is 8 bytes");

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

#endif
