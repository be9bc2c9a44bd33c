/* arp.c — ARP: a small cache, requests for next hops, replies for our address, announcements. */
#include <string.h>
#include "proto/arp.h"
#include "proto/bytes.h"
#include "proto/eth.h"
#include "stack.h"

#define ARP_SLOTS 8
#define ARP_REFRESH_MS 60000  /* re-ask for an entry this old; it stays usable meanwhile */
#define ARP_RETRY_MS 1000     /* and re-ask at most this often until the answer comes */

static struct arp_entry {
    uint32_t ip;      /* network order; 0 = empty */
    uint8_t mac[6];
    uint32_t stamp;   /* when last confirmed (or re-asked, minus the refresh age) */
} cache[ARP_SLOTS];
static unsigned next_victim;  /* round robin: the oldest-inserted entry goes first */

static const uint8_t zero_mac[6];

static struct arp_entry *arp_find(uint32_t ip)
{
    for (struct arp_entry *e = cache; e < cache + ARP_SLOTS; e++)
        if (e->ip == ip)
            return e;
    return 0;
}

static void arp_store(uint32_t ip, const uint8_t *mac)
{
    struct arp_entry *e = arp_find(ip);
    if (!e) {
        e = &cache[next_victim++ % ARP_SLOTS];
        e->ip = ip;
    }
    memcpy(e->mac, mac, 6);
    e->stamp = plat_now_ms();
}

static void arp_send(uint16_t oper, const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa)
{
    static uint8_t frame[ETH_HLEN + sizeof(struct arp_pkt)];
    struct arp_pkt *a = (void *)(frame + ETH_HLEN);
    wr16(a->htype, 1);
    wr16(a->ptype, ETH_TYPE_IP);
    a->hlen = 6;
    a->plen = 4;
    wr16(a->oper, oper);
    memcpy(a->sha, net_if.mac, 6);
    memcpy(a->spa, &net_if.ip, 4);
    memcpy(a->tha, tha, 6);
    memcpy(a->tpa, &tpa, 4);
    eth_output(frame, eth_dst, ETH_TYPE_ARP, sizeof *a);
}

void arp_request(uint32_t ip) { arp_send(ARP_REQUEST, eth_broadcast, zero_mac, ip); }

void arp_announce(void)
{
    arp_request(net_if.ip);  /* gratuitous: "who has <us>? tell <us>" updates peers' caches */
    if (net_if.gw)
        arp_request(net_if.gw);  /* resolve the gateway before the first reply needs it */
}

const uint8_t *arp_lookup(uint32_t ip)
{
    struct arp_entry *e = ip ? arp_find(ip) : 0;
    uint32_t now = plat_now_ms();
    if (!e) {
        arp_request(ip);
        return 0;
    }
    if (time_reached(now, e->stamp + ARP_REFRESH_MS)) {
        arp_request(ip);
        e->stamp = now - ARP_REFRESH_MS + ARP_RETRY_MS;
    }
    return e->mac;
}

void arp_input(const uint8_t *pkt, uint16_t len)
{
    const struct arp_pkt *a = (const void *)pkt;
    uint32_t spa, tpa;
    uint16_t oper;
    if (len < sizeof *a || rd16(a->htype) != 1 || rd16(a->ptype) != ETH_TYPE_IP || a->hlen != 6 ||
        a->plen != 4 || ((oper = rd16(a->oper)) != ARP_REQUEST && oper != ARP_REPLY) ||
        (a->sha[0] & 1)) {  /* a multicast sender address is no host's */
        net_stats.drop_arp++;
        return;
    }
    memcpy(&spa, a->spa, 4);
    memcpy(&tpa, a->tpa, 4);
    if (net_if.ip && tpa == net_if.ip) {
        if (spa)
            arp_store(spa, a->sha);  /* whoever asks for us is about to talk to us */
        if (oper == ARP_REQUEST)
            arp_send(ARP_REPLY, a->sha, a->sha, spa);
    } else if (spa && arp_find(spa)) {
        arp_store(spa, a->sha);  /* RFC 826 merge: refresh what we already know */
    }
}
