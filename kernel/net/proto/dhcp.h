/* dhcp.h — DHCP message (RFC 2131) and the options we use (RFC 2132). */
#ifndef EXO_PROTO_DHCP_H
#define EXO_PROTO_DHCP_H

#include <stdint.h>

struct dhcp_msg {
    uint8_t op;           /* DHCP_BOOTREQUEST or DHCP_BOOTREPLY */
    uint8_t htype;        /* 1: Ethernet */
    uint8_t hlen;         /* 6 */
    uint8_t hops;
    uint8_t xid[4];       /* transaction id, echoed by the server */
    uint8_t secs[2];
    uint8_t flags[2];     /* DHCP_FLAG_BROADCAST */
    uint8_t ciaddr[4];    /* our address while renewing */
    uint8_t yiaddr[4];    /* address offered to us */
    uint8_t siaddr[4];
    uint8_t giaddr[4];
    uint8_t chaddr[16];   /* our MAC, zero-padded */
    uint8_t sname[64];
    uint8_t file[128];
    uint8_t cookie[4];    /* DHCP_COOKIE */
    uint8_t options[];
};
_Static_assert(sizeof(struct dhcp_msg) == 240, "DHCP fixed part is 240 bytes");

#define DHCP_MSG_MIN 300             /* BOOTP minimum: some servers ignore shorter requests */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000
#define DHCP_COOKIE 0x63825363

#define DHCP_OPT_PAD 0
#define DHCP_OPT_MASK 1
#define DHCP_OPT_ROUTER 3
#define DHCP_OPT_HOSTNAME 12
#define DHCP_OPT_REQUESTED_IP 50
#define DHCP_OPT_LEASE 51
#define DHCP_OPT_OVERLOAD 52         /* options continue in file (1), sname (2) or both (3) */
#define DHCP_OPT_TYPE 53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_OPT_PARAMS 55
#define DHCP_OPT_T1 58               /* renewal time, seconds */
#define DHCP_OPT_T2 59               /* rebinding time, seconds */
#define DHCP_OPT_END 255

#define DHCP_OVERLOAD_FILE 1
#define DHCP_OVERLOAD_SNAME 2

#define DHCP_DISCOVER 1
#define DHCP_OFFER 2
#define DHCP_REQUEST 3
#define DHCP_ACK 5
#define DHCP_NAK 6

#endif
