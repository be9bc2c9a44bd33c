/* eth.h — Ethernet II header (IEEE 802.3 frame without FCS). */
#ifndef EXO_PROTO_ETH_H
#define EXO_PROTO_ETH_H

#include <stdint.h>

struct eth_hdr {
    uint8_t dst[6];
    uint8_t src[6];
    uint8_t type[2];  /* ETH_TYPE_* */
};
_Static_assert(sizeof(struct eth_hdr) == 14, "Ethernet header is 14 bytes");

#define ETH_HLEN 14
#define ETH_MTU 1500                       /* largest IPv4 packet we send or accept */
#define ETH_FRAME_MAX (ETH_HLEN + ETH_MTU)
#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806

#endif
