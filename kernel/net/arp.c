/* arp.c — ARP: a cache sized for the connection table, requests for next hops (holding one
 * packet for each until the answer), replies for our address, announcements.
 *
 * Entries are kept for whom we talk to. RFC 826's merge rule: any ARP packet updates an entry
 * its sender already has; a new entry is made only when we are the target (the sender is about
 * to talk to us). Such an unsolicited entry may take a free slot or one we have not used for
 * ARP_IN_USE_MS, never one in use, so a crowd of askers cannot push out the next hop of a
 * connection (RFC 1122 §2.3.2.2 asks for at least one queued packet per unresolved
 * destination; §2.3.2.1 leaves the replacement policy to us). Only output for a next hop we
 * do not know takes the least recently used slot, whatever its age. */
#include <string.h>
#include "proto/arp.h"
#include "proto/bytes.h"
#include "proto/eth.h"
#include "stack.h"

#define ARP_SLOTS 64          /* one per TCP connection, each may be another on-link host */
#define ARP_REFRESH_MS 60000  /* re-ask for an entry this old; it stays usable meanwhile */
#define ARP_RETRY_MS 1000     /* and re-ask at most this often until the answer comes */
#define ARP_IN_USE_MS 30000   /* used for output this recently: not given up for an asker */

static struct arp_entry {
    uint32_t ip;              /* network order; 0 = empty */
    uint8_t mac[6];           /* multicast bit set: asked, not yet answered */
    uint16_t held_len;        /* a frame waiting for the answer (0: none) */
    uint32_t stamp;           /* when last confirmed (or re-asked, minus the refresh age) */
    uint32_t used;            /* when last used for output */
    uint8_t held[ETH_FRAME_MAX];
} cache[ARP_SLOTS];

static const uint8_t zero_mac[6];

static struct arp_entry *arp_find(uint32_t ip)
{
    for (struct arp_entry *e = cache; e < cache + ARP_SLOTS; e++)
        if (e->ip == ip)
            return e;
    return 0;
}

/* A slot for a new entry: empty, else the least recently used; for an unsolicited sender
 * (`asker`) only if that one is out of use. NULL: none may be given up. */
static struct arp_entry *arp_slot(uint32_t ip, uint32_t now, int asker)
{
    struct arp_entry *e, *victim = cache;
    for (e = cache; e < cache + ARP_SLOTS && victim->ip; e++)
        if (!e->ip || (int32_t)(e->used - victim->used) < 0)
            victim = e;
    if (asker && victim->ip && now - victim->used < ARP_IN_USE_MS)
        return 0;
    victim->ip = ip;
    victim->held_len = 0;
    victim->used = now - ARP_IN_USE_MS;  /* not in use until output uses it */
    return victim;
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
    memset(cache, 0, sizeof cache);  /* a new address: what we knew may be another subnet's */
    arp_request(net_if.ip);  /* gratuitous: "who has <us>? tell <us>" updates peers' caches */
    if (net_if.gw)
        arp_request(net_if.gw);  /* resolve the gateway before the first reply needs it */
}

void arp_output(uint32_t hop, uint8_t *frame, uint16_t len)
{
    uint32_t now = plat_now_ms();
    struct arp_entry *e = arp_find(hop);
    if (!e) {
        e = arp_slot(hop, now, 0);
        e->mac[0] = 1;                   /* asked, not answered */
        e->stamp = now - ARP_REFRESH_MS; /* so it is asked right below */
    }
    e->used = now;
    if (time_reached(now, e->stamp + ARP_REFRESH_MS)) {
        arp_request(hop);
        e->stamp = now - ARP_REFRESH_MS + ARP_RETRY_MS;
    }
    if (!(e->mac[0] & 1)) {
        eth_output(frame, e->mac, ETH_TYPE_IP, len);
        return;
    }
    if (e->held_len)
        net_stats.drop_noroute++;        /* the older waiting frame gives way */
    e->held_len = len;
    memcpy(e->held, frame, ETH_HLEN + len);
}

void arp_input(const uint8_t *pkt, uint16_t len)
{
    const struct arp_pkt *a = (const void *)pkt;
    struct arp_entry *e;
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
    int for_us = net_if.ip && tpa == net_if.ip;
    /* RFC 826: update the sender if known; else add it if we are the target. */
    if (spa && ((e = arp_find(spa)) || (for_us && (e = arp_slot(spa, plat_now_ms(), 1))))) {
        memcpy(e->mac, a->sha, 6);
        e->stamp = plat_now_ms();
        if (e->held_len) {  /* the frame that waited for this answer */
            eth_output(e->held, e->mac, ETH_TYPE_IP, e->held_len);
            e->held_len = 0;
        }
    }
    if (for_us && oper == ARP_REQUEST)
        arp_send(ARP_REPLY, a->sha, a->sha, spa);
}
