/* stack.h — declarations shared by the part-1 layers of the stack (eth, arp, ip, icmp, udp,
 * dhcp). The seams with the platform and with TCP are in net.h. */
#ifndef EXO_NET_STACK_H
#define EXO_NET_STACK_H

#include <stdint.h>
#include "net.h"

/* The one interface. Addresses in network order; ip = 0 while unconfigured. The gateway may
 * lie outside the subnet (a /32 lease): it is reached directly. bcast is the subnet's broadcast
 * address, or 255.255.255.255 for /31 and /32, which have none. */
struct net_iface {
    uint8_t mac[6];
    uint32_t ip, mask, gw, bcast;
};
extern struct net_iface net_if;

extern const uint8_t eth_broadcast[6];

/* Set (or, with ip = 0, clear) our address; logs the "exo: ip" line and announces it by ARP. */
void net_set_address(uint32_t ip, uint8_t prefix, uint32_t gw, const char *via);

/* Send `len` bytes at frame + ETH_HLEN to dst after filling in the Ethernet header. */
void eth_output(uint8_t *frame, const uint8_t *dst, uint16_t type, uint16_t len);

void arp_input(const uint8_t *pkt, uint16_t len);
/* Send the IPv4 frame (len bytes after the Ethernet header) to next hop `hop`; while its
 * address is unknown, ask and hold the frame until the answer (one per hop, the newest). */
void arp_output(uint32_t hop, uint8_t *frame, uint16_t len);
void arp_request(uint32_t ip);
void arp_announce(void);                     /* gratuitous ARP, then ask for the gateway */

void ip_input(const uint8_t *pkt, uint16_t len);
/* 1 if addr can be another host's unicast address (RFC 1122 3.2.1.3): not in 0/8 (this
 * network), 127/8 (loopback), 224/4 (multicast), 240/4 (reserved, the limited broadcast), and
 * not our subnet's broadcast. Sources of received datagrams, the DHCP router. */
int ip_is_host(uint32_t addr);
void icmp_input(uint32_t src, const uint8_t *msg, uint16_t len);
int udp_output(uint32_t dst, uint16_t sport, uint16_t dport, const uint8_t *data, uint16_t len);

void dhcp_start(const char *hostname);
void dhcp_input(const uint8_t *msg, uint16_t len);
void dhcp_poll(uint32_t now);

/* True once `now` has reached `deadline` (wrap-safe for spans under 24 days). */
static inline int time_reached(uint32_t now, uint32_t deadline)
{
    return (int32_t)(now - deadline) >= 0;
}

#endif
