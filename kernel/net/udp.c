/* udp.c — UDP: checked input for the DHCP client port, and output with checksum. */
#include <string.h>
#include "proto/bytes.h"
#include "proto/dhcp.h"
#include "proto/eth.h"
#include "proto/ip.h"
#include "proto/udp.h"
#include "stack.h"

void udp_input(uint32_t src, uint32_t dst, const uint8_t *dgram, uint16_t len)
{
    const struct udp_hdr *udp = (const void *)dgram;
    uint16_t ulen;
    if (len < UDP_HLEN || (ulen = rd16(udp->len)) < UDP_HLEN || ulen > len ||
        (rd16(udp->csum) && inet_checksum(dgram, ulen, ip_pseudo_sum(src, dst, IP_PROTO_UDP, ulen))) ||
        rd16(udp->dport) != DHCP_CLIENT_PORT || rd16(udp->sport) != DHCP_SERVER_PORT) {
        net_stats.drop_udp++;
        return;
    }
    dhcp_input(dgram + UDP_HLEN, (uint16_t)(ulen - UDP_HLEN));
}

int udp_output(uint32_t dst, uint16_t sport, uint16_t dport, const uint8_t *data, uint16_t len)
{
    static uint8_t dgram[ETH_MTU - IP_HLEN];
    struct udp_hdr *udp = (void *)dgram;
    uint16_t ulen = (uint16_t)(UDP_HLEN + len);
    if (len > sizeof dgram - UDP_HLEN) {  /* before the copy, like every copy into a buffer */
        net_stats.drop_udp++;
        return -1;
    }
    wr16(udp->sport, sport);
    wr16(udp->dport, dport);
    wr16(udp->len, ulen);
    wr16(udp->csum, 0);
    memcpy(dgram + UDP_HLEN, data, len);
    uint16_t csum = inet_checksum(dgram, ulen, ip_pseudo_sum(net_if.ip, dst, IP_PROTO_UDP, ulen));
    wr16(udp->csum, csum ? csum : 0xFFFF);  /* 0 would mean "no checksum" */
    return ip_output(dst, IP_PROTO_UDP, dgram, ulen);
}
