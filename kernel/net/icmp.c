/* icmp.c — ICMP: answer echo requests of any size up to the MTU; drop everything else. */
#include <string.h>
#include "proto/bytes.h"
#include "proto/eth.h"
#include "proto/icmp.h"
#include "proto/ip.h"
#include "stack.h"

void icmp_input(uint32_t src, const uint8_t *msg, uint16_t len)
{
    static uint8_t reply[ETH_MTU - IP_HLEN];
    struct icmp_echo *echo = (void *)reply;
    if (len < sizeof *echo || len > sizeof reply || msg[0] != ICMP_ECHO_REQUEST || inet_checksum(msg, len, 0)) {
        net_stats.drop_icmp++;
        return;
    }
    memcpy(reply, msg, len);  /* same id, sequence and data */
    echo->type = ICMP_ECHO_REPLY;
    wr16(echo->csum, 0);
    wr16(echo->csum, inet_checksum(reply, len, 0));
    if (ip_output(src, IP_PROTO_ICMP, reply, len) == 0)
        net_stats.icmp_echo_replied++;
}
