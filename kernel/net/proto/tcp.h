/* proto/tcp.h — the TCP header on the wire (RFC 9293 §3.1). Fields are byte arrays in network
 * order, read and written with proto/bytes.h, so a header may sit at any alignment. */
#ifndef EXO_PROTO_TCP_H
#define EXO_PROTO_TCP_H

#include <stdint.h>
#include "bytes.h"

struct tcp_hdr {
    uint8_t sport[2], dport[2];
    uint8_t seq[4], ack[4];
    uint8_t off;          /* data offset in 32-bit words, in the high nibble */
    uint8_t flags;        /* TCP_FIN … TCP_ACK */
    uint8_t win[2], csum[2], urg[2];
};
_Static_assert(sizeof(struct tcp_hdr) == 20, "TCP header without options is 20 bytes");

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define TCP_OPT_END 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2     /* kind 2, length 4, 16-bit maximum segment size */

#endif
