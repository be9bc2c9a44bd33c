/* dhcp.c — DHCP client (RFC 2131): discover, request, bind, renew, rebind; restart on NAK.
 *
 * Every transmission is retried with exponential backoff until a matching answer (our
 * transaction id and MAC) arrives, so a server that starts late still ends in a lease. */
#include <string.h>
#include "proto/bytes.h"
#include "proto/dhcp.h"
#include "proto/ip.h"
#include "stack.h"

#define DHCP_RETRY_FIRST_MS 1000
#define DHCP_RETRY_MAX_MS 8000
#define DHCP_LEASE_MIN_S 10
#define DHCP_LEASE_MAX_S 2000000    /* ~23 days: keeps deadlines inside the wrap-safe span */
#define DHCP_DEFAULT_PREFIX 24      /* when the server sends no subnet mask */
#define DHCP_HOSTNAME_MAX 63        /* RFC 1035 label; longer names are cut */
#define DHCP_MSG_LEN 340            /* ≥ DHCP_MSG_MIN, and room for every option we send */
_Static_assert(DHCP_MSG_LEN >= 240 + 3 + 6 + 6 + 2 + DHCP_HOSTNAME_MAX + 4 + 1,
               "type, requested ip, server id, hostname, parameters and END fit");

enum { DHCP_OFF, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND, DHCP_RENEWING, DHCP_REBINDING };

static struct {
    uint8_t state;
    uint8_t xid[4];
    const char *hostname;
    uint32_t offered, server;    /* network order */
    uint32_t retry_at, retry_ms; /* next transmission, and the wait after it */
    uint32_t renew_at, rebind_at, expire_at;
} dhcp;

static void dhcp_enter(uint8_t state)
{
    dhcp.state = state;
    dhcp.retry_at = plat_now_ms();
    dhcp.retry_ms = DHCP_RETRY_FIRST_MS;
}

static void dhcp_restart(void)
{
    uint32_t xid = plat_random();
    memcpy(dhcp.xid, &xid, 4);
    dhcp_enter(DHCP_SELECTING);
}

void dhcp_start(const char *hostname)
{
    dhcp.hostname = hostname;
    dhcp_restart();
}

static uint8_t *put_option(uint8_t *o, uint8_t code, const void *value, uint8_t len)
{
    o[0] = code;
    o[1] = len;
    memcpy(o + 2, value, len);
    return o + 2 + len;
}

static void dhcp_send(void)
{
    static const uint8_t params[] = { DHCP_OPT_MASK, DHCP_OPT_ROUTER };
    static uint8_t buf[DHCP_MSG_LEN];
    struct dhcp_msg *m = (void *)buf;
    uint8_t type = dhcp.state == DHCP_SELECTING ? DHCP_DISCOVER : DHCP_REQUEST;
    uint8_t *o = m->options;
    memset(buf, 0, sizeof buf);
    m->op = DHCP_BOOTREQUEST;
    m->htype = 1;
    m->hlen = 6;
    memcpy(m->xid, dhcp.xid, 4);
    memcpy(m->chaddr, net_if.mac, 6);
    wr32(m->cookie, DHCP_COOKIE);
    if (dhcp.state >= DHCP_RENEWING)
        memcpy(m->ciaddr, &net_if.ip, 4);  /* we own the address: the answer is unicast */
    else
        wr16(m->flags, DHCP_FLAG_BROADCAST);
    o = put_option(o, DHCP_OPT_TYPE, &type, 1);
    if (dhcp.state == DHCP_REQUESTING) {
        o = put_option(o, DHCP_OPT_REQUESTED_IP, &dhcp.offered, 4);
        o = put_option(o, DHCP_OPT_SERVER_ID, &dhcp.server, 4);
    }
    size_t name_len = strlen(dhcp.hostname);
    o = put_option(o, DHCP_OPT_HOSTNAME, dhcp.hostname,
                   (uint8_t)(name_len < DHCP_HOSTNAME_MAX ? name_len : DHCP_HOSTNAME_MAX));
    o = put_option(o, DHCP_OPT_PARAMS, params, sizeof params);
    *o = DHCP_OPT_END;
    udp_output(dhcp.state == DHCP_RENEWING ? dhcp.server : IP_BROADCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT,
               buf, sizeof buf);
}

void dhcp_poll(uint32_t now)
{
    if (dhcp.state == DHCP_BOUND && time_reached(now, dhcp.renew_at))
        dhcp_enter(DHCP_RENEWING);
    if (dhcp.state == DHCP_RENEWING && time_reached(now, dhcp.rebind_at))
        dhcp_enter(DHCP_REBINDING);
    if (dhcp.state == DHCP_REBINDING && time_reached(now, dhcp.expire_at)) {
        net_set_address(0, 0, 0, 0);  /* lease gone: stop using the address */
        dhcp_restart();
    }
    if (dhcp.state == DHCP_OFF || dhcp.state == DHCP_BOUND || !time_reached(now, dhcp.retry_at))
        return;
    /* retry_ms runs 1, 2, 4, 8, 16 s and stays there; the wait is capped at 8 s. */
    if (dhcp.state == DHCP_REQUESTING && dhcp.retry_ms > DHCP_RETRY_MAX_MS)
        dhcp_restart();  /* REQUESTs at 0, 1, 3 and 7 s went unanswered: start over */
    dhcp_send();
    dhcp.retry_at = now + (dhcp.retry_ms < DHCP_RETRY_MAX_MS ? dhcp.retry_ms : DHCP_RETRY_MAX_MS);
    if (dhcp.retry_ms <= DHCP_RETRY_MAX_MS)
        dhcp.retry_ms *= 2;
}

/* The value of option `code` with at least `min` bytes, or 0. The options field comes first;
 * when option 52 in it overloads them (RFC 2132 9.3), `file` and then `sname` follow, the order
 * of RFC 2131 4.1: some servers put the mask or the router there when the options field is
 * full. The walk starts over each time and stops at anything running past its field. */
static const uint8_t *dhcp_option(const struct dhcp_msg *m, const uint8_t *end, uint8_t code, uint8_t min)
{
    const uint8_t *o = m->options;
    uint8_t overload = 0;
    for (;;) {
        if (o >= end || *o == DHCP_OPT_END) {
            if (overload & DHCP_OVERLOAD_FILE) {
                o = m->file;
                end = m->cookie;
                overload ^= DHCP_OVERLOAD_FILE;
            } else if (overload & DHCP_OVERLOAD_SNAME) {
                o = m->sname;
                end = m->file;
                overload = 0;
            } else {
                return 0;
            }
            continue;
        }
        if (*o == DHCP_OPT_PAD) {
            o++;
            continue;
        }
        if (end - o < 2 || end - o - 2 < o[1])
            return 0;
        if (o[0] == code)
            return o[1] >= min ? o + 2 : 0;
        if (o[0] == DHCP_OPT_OVERLOAD && o[1] && o > m->cookie)  /* only the options field's */
            overload = o[2];
        o += 2 + o[1];
    }
}

/* Option `code` as 4 bytes: an address in network order, or 0. */
static uint32_t dhcp_option32(const struct dhcp_msg *m, const uint8_t *end, uint8_t code)
{
    uint32_t v = 0;
    const uint8_t *p = dhcp_option(m, end, code, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}

/* Option `code` as a time in seconds (host order), or 0. */
static uint32_t dhcp_seconds(const struct dhcp_msg *m, const uint8_t *end, uint8_t code)
{
    return __builtin_bswap32(dhcp_option32(m, end, code));
}

static void dhcp_bind(const struct dhcp_msg *m, const uint8_t *end, uint32_t ip, uint32_t server)
{
    uint32_t now = plat_now_ms(), mask = dhcp_option32(m, end, DHCP_OPT_MASK);
    uint32_t router = dhcp_option32(m, end, DHCP_OPT_ROUTER), lease_s = dhcp_seconds(m, end, DHCP_OPT_LEASE);
    uint32_t t1 = dhcp_seconds(m, end, DHCP_OPT_T1), t2 = dhcp_seconds(m, end, DHCP_OPT_T2);
    uint8_t prefix = 0;
    for (uint32_t bits = mask; bits; bits >>= 1)
        prefix = (uint8_t)(prefix + (bits & 1));
    if (!mask)
        prefix = DHCP_DEFAULT_PREFIX;
    /* A router outside the subnet (a /32 lease, as some clouds give) is still on the link: it
     * stays our gateway and ip_output reaches it directly, as systemd-networkd and dhclient
     * install a host route to it. Only an address no host can have is refused. */
    if (!ip_is_host(router))
        router = 0;
    if (lease_s < DHCP_LEASE_MIN_S)
        lease_s = DHCP_LEASE_MIN_S;
    if (lease_s > DHCP_LEASE_MAX_S)
        lease_s = DHCP_LEASE_MAX_S;
    /* RFC 2131 4.4.5: T1 and T2 as the server gives them, if inside the lease; otherwise half
     * and 7/8 of it. A T2 before T1 needs no repair: dhcp_poll rebinds right after renewing. */
    dhcp.expire_at = now + lease_s * 1000;
    dhcp.rebind_at = now + (t2 && t2 < lease_s ? t2 * 1000 : lease_s * 875);
    dhcp.renew_at = now + (t1 && t1 < lease_s ? t1 * 1000 : lease_s * 500);
    if (server)
        dhcp.server = server;
    dhcp.state = DHCP_BOUND;
    if (ip != net_if.ip || net_prefix_mask(prefix) != net_if.mask || router != net_if.gw)
        net_set_address(ip, prefix, router, "dhcp");
}

void dhcp_input(const uint8_t *msg, uint16_t len)
{
    const struct dhcp_msg *m = (const void *)msg;
    const uint8_t *end = msg + len, *type;
    uint32_t yiaddr, server;
    if (len < sizeof *m || m->op != DHCP_BOOTREPLY || dhcp.state == DHCP_OFF || memcmp(m->xid, dhcp.xid, 4) ||
        memcmp(m->chaddr, net_if.mac, 6) || rd32(m->cookie) != DHCP_COOKIE ||
        !(type = dhcp_option(m, end, DHCP_OPT_TYPE, 1)))
        goto drop;
    memcpy(&yiaddr, m->yiaddr, 4);
    server = dhcp_option32(m, end, DHCP_OPT_SERVER_ID);
    if (*type == DHCP_OFFER && dhcp.state == DHCP_SELECTING && yiaddr && server) {
        dhcp.offered = yiaddr;
        dhcp.server = server;
        dhcp_enter(DHCP_REQUESTING);
        return;
    }
    if (dhcp.state == DHCP_REQUESTING || dhcp.state >= DHCP_RENEWING) {
        if (*type == DHCP_ACK && yiaddr) {
            dhcp_bind(m, end, yiaddr, server);
            return;
        }
        if (*type == DHCP_NAK) {
            net_set_address(0, 0, 0, 0);
            dhcp_restart();
            return;
        }
    }
drop:
    net_stats.drop_dhcp++;
}
