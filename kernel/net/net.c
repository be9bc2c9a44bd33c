/* net.c — the interface: configuration, address changes and timers. */
#include <string.h>
#include "proto/ip.h"
#include "stack.h"

struct net_stats net_stats;
struct net_iface net_if;

void net_init(const struct net_config *cfg)
{
    memcpy(net_if.mac, cfg->mac, 6);
    if (cfg->use_dhcp)
        dhcp_start(cfg->hostname);
    else
        net_set_address(cfg->ip, cfg->prefix, cfg->gw, "static");
}

void net_set_address(uint32_t ip, uint8_t prefix, uint32_t gw, const char *via)
{
    net_if.ip = ip;
    net_if.mask = net_prefix_mask(prefix);
    net_if.gw = gw;
    /* RFC 3021: a /31 has no broadcast address (both are hosts), and a /32 has no other host. */
    net_if.bcast = prefix < 31 ? ip | ~net_if.mask : IP_BROADCAST;
    if (!ip)
        return;
    if (gw)
        net_logf("exo: ip %I/%u gw %I via %s", ip, prefix, gw, via);
    else
        net_logf("exo: ip %I/%u gw none via %s", ip, prefix, via);
    tcp_announce();
    arp_announce();
}

void net_poll(void)
{
    uint32_t now = plat_now_ms();
    dhcp_poll(now);
    tcp_poll(now);
}

int net_is_configured(void) { return net_if.ip != 0; }

uint32_t net_ip(void) { return net_if.ip; }
