/* arp.h — ARP for IPv4 over Ethernet (RFC 826). */
#ifndef EXO_PROTO_ARP_H
#define EXO_PROTO_ARP_H

#include <stdint.h>

struct arp_pkt {
    uint8_t htype[2];  /* 1: Ethernet */
    uint8_t ptype[2];  /* 0x0800: IPv4 */
    uint8_t hlen;      /* 6 */
    uint8_t plen;      /* 4 */
    uint8_t oper[2];   /* ARP_REQUEST or ARP_REPLY */
    uint8_t sha[6];    /* sender MAC */
    uint8_t spa[4];    /* sender IPv4 */
    uint8_t tha[6];    /* target MAC */
    uint8_t tpa[4];    /* target IPv4 */
};
_Static_assert(sizeof(struct arp_pkt) == 28, "ARP packet is 28 bytes");

#define ARP_REQUEST 1
#define ARP_REPLY 2

#endif
