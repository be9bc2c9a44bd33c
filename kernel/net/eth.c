/* eth.c — Ethernet: the stack's entry point for received frames, and framing for output. */
#include <string.h>
#include "proto/bytes.h"
#include "proto/eth.h"
#include "stack.h"

const uint8_t eth_broadcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };

void net_input(const uint8_t *frame, uint16_t len)
{
    const struct eth_hdr *eth = (const void *)frame;
    net_stats.rx_frames++;
    /* Ours or broadcast, and long enough for a header; the NIC filters nothing for us. */
    if (len < ETH_HLEN || len > ETH_FRAME_MAX ||
        (memcmp(eth->dst, net_if.mac, 6) && memcmp(eth->dst, eth_broadcast, 6))) {
        net_stats.drop_eth++;
        return;
    }
    switch (rd16(eth->type)) {
    case ETH_TYPE_IP:
        ip_input(frame + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_TYPE_ARP:
        arp_input(frame + ETH_HLEN, len - ETH_HLEN);
        break;
    default:
        net_stats.drop_eth++;
    }
}

void eth_output(uint8_t *frame, const uint8_t *dst, uint16_t type, uint16_t len)
{
    struct eth_hdr *eth = (void *)frame;
    memcpy(eth->dst, dst, 6);
    memcpy(eth->src, net_if.mac, 6);
    wr16(eth->type, type);
    net_stats.tx_frames++;
    plat_tx(frame, (uint16_t)(ETH_HLEN + len));
}
