/* ip.c — IPv4 input (checks, then dispatch to ICMP/UDP/TCP) and output (routing, ARP). */
#include <string.h>
#include "proto/bytes.h"
#include "proto/eth.h"
#include "proto/ip.h"
#include "stack.h"

static uint16_t ip_id;

int ip_is_host(uint32_t addr)
{
    uint8_t first = ((const uint8_t *)&addr)[0];
    return first && first != 127 && first < 224 && addr != net_if.bcast;
}

void ip_input(const uint8_t *pkt, uint16_t len)
{
    const struct ip_hdr *ip = (const void *)pkt;
    uint16_t hlen, total;
    uint32_t src, dst;
    if (len < IP_HLEN || (ip->ver_ihl >> 4) != 4 || (hlen = (uint16_t)((ip->ver_ihl & 15) * 4)) < IP_HLEN ||
        (total = rd16(ip->len)) < hlen || total > len) {
        net_stats.drop_ip_hdr++;
        return;
    }
    if (inet_checksum(pkt, hlen, 0)) {
        net_stats.drop_ip_csum++;
        return;
    }
    if (rd16(ip->frag) & IP_FRAG_MF_OFFSET) {
        net_stats.drop_ip_frag++;  /* no reassembly: nothing we serve needs fragments */
        return;
    }
    memcpy(&src, ip->src, 4);
    memcpy(&dst, ip->dst, 4);
    /* RFC 1122 3.2.1.3: a datagram whose source is no host's is discarded (an answer to a
     * broadcast source would be a broadcast, one to 0.0.0.0 or loopback goes nowhere). */
    if (!ip_is_host(src)) {
        net_stats.drop_ip_hdr++;
        return;
    }
    int to_us = net_if.ip && dst == net_if.ip;
    /* Broadcasts are for DHCP; while unconfigured, DHCP replies may be unicast to the offered
     * address, so any UDP passes. */
    if (!to_us && dst != IP_BROADCAST && dst != net_if.bcast &&
        (net_if.ip || ip->proto != IP_PROTO_UDP)) {
        net_stats.drop_ip_notme++;
        return;
    }
    const uint8_t *payload = pkt + hlen;
    uint16_t plen = (uint16_t)(total - hlen);
    switch (ip->proto) {
    case IP_PROTO_ICMP:
        if (to_us)
            icmp_input(src, payload, plen);
        else
            net_stats.drop_icmp++;  /* no echo replies to broadcasts */
        break;
    case IP_PROTO_UDP:
        udp_input(src, dst, payload, plen);
        break;
    case IP_PROTO_TCP:
        if (to_us)
            tcp_input(src, dst, payload, plen);
        else
            net_stats.drop_tcp++;
        break;
    default:
        net_stats.drop_ip_proto++;
    }
}

int ip_output(uint32_t dst, uint8_t proto, const uint8_t *payload, uint16_t len)
{
    static uint8_t frame[ETH_FRAME_MAX];
    struct ip_hdr *ip = (void *)(frame + ETH_HLEN);
    uint32_t hop = 0;
    if (len > ETH_MTU - IP_HLEN) {
        net_stats.drop_ip_hdr++;
        return -1;
    }
    if (dst != IP_BROADCAST && dst != net_if.bcast) {
        hop = (dst ^ net_if.ip) & net_if.mask ? net_if.gw : dst;
        if (!hop) {
            net_stats.drop_noroute++;
            return -1;
        }
    }
    /* frame is static and its other fields (tos, flags) stay zero. */
    ip->ver_ihl = IP_VER_IHL;
    wr16(ip->len, (uint16_t)(IP_HLEN + len));
    wr16(ip->id, ++ip_id);
    ip->ttl = IP_TTL;
    ip->proto = proto;
    memcpy(ip->src, &net_if.ip, 4);
    memcpy(ip->dst, &dst, 4);
    wr16(ip->csum, 0);
    wr16(ip->csum, inet_checksum(ip, IP_HLEN, 0));
    memcpy(frame + ETH_HLEN + IP_HLEN, payload, len);
    if (hop)
        arp_output(hop, frame, (uint16_t)(IP_HLEN + len));
    else
        eth_output(frame, eth_broadcast, ETH_TYPE_IP, (uint16_t)(IP_HLEN + len));
    return 0;
}
