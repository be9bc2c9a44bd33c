/* fuzz_net.c — libFuzzer harness: arbitrary frames through the whole stack (net_input, then
 * net_poll with the fake clock moved on), under ASan and UBSan.
 *
 * The input's first byte's low bit starts the stack with DHCP instead of a static address;
 * after it, the input is a sequence of records: op (1 byte), length (2 bytes, big-endian), payload.
 *   op & 3 == 0: the payload is a raw Ethernet frame, given as is;
 *   op & 3 == 1: the same, with its IPv4 and TCP/UDP/ICMP checksums made valid, and in a
 *                DHCP reply the xid, MAC and cookie the client expects;
 *   op & 3 == 2: the payload is a TCP segment, sent from the peer in Ethernet + IPv4;
 *   op & 3 == 3: the same, with seq and ack set to what the connection expects (from the last
 *                segment the stack sent to that port), so the fuzzer reaches every state.
 *   op >> 2: the clock moves (op >> 2)² × 4 ms before net_poll (up to ~16 s: every timer).
 * Everything the stack sends must be a well-formed frame with valid checksums; anything else
 * aborts, as does any sanitizer report.
 *
 * FUZZ_WRITE_SEEDS=dir writes a few seed inputs (whole HTTP exchanges, pipelining, /health,
 * ARP and ping, DHCP then HTTP) into dir and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wire.h"
#include "http.h"
#include "proto/tcp.h"

static const char body[] = "<h1>fuzz</h1>\n";
static const char build_hex[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/* What the stack last sent to each peer port: the seq/ack a synchronized peer would use. */
static struct {
    uint16_t port;
    uint32_t next_seq, next_ack;
} seen[8];

static uint8_t dhcp_xid[4];         /* from the last DHCP message the stack sent */

static void track_output(void)
{
    const struct host_frame *fr;
    struct wire_seg s;

    while ((fr = host_tx_next())) {
        int got = wire_parse(fr->data, fr->len, &s);
        if (got < 0) {
            fprintf(stderr, "the stack sent a malformed frame\n");
            abort();
        }
        if (got == 0 && fr->len >= 14 + 20 + 8 + 8 && fr->data[14 + 9] == 17 &&
            rd16(fr->data + 14 + 20) == 68)
            memcpy(dhcp_xid, fr->data + 14 + 20 + 8 + 4, 4);
        if (got == 1) {
            seen[s.dport % 8].port = s.dport;
            seen[s.dport % 8].next_seq = s.ack;
            seen[s.dport % 8].next_ack = s.seq + s.len + !!(s.flags & TCP_SYN) + !!(s.flags & TCP_FIN);
        }
    }
}

/* A fuzzed DHCP reply gets what the client checks before it reads the options. */
static void fix_dhcp(uint8_t *f, size_t n)
{
    uint8_t *udp = f + 14 + 20, *m = udp + 8;

    if (n < 14 + 20 + 8 + 240 || rd16(f + 12) != 0x0800 || f[14] != 0x45 || f[14 + 9] != 17 ||
        rd16(udp + 2) != 68)
        return;
    memcpy(m + 4, dhcp_xid, 4);
    memcpy(m + 28, wire_us_mac, 6);
    wr32(m + 236, 0x63825363);
}

static void send_segment(const uint8_t *p, uint16_t n, int sync)
{
    struct wire_seg s = {0};
    uint16_t hl;

    if (n < 20) return;
    hl = (uint16_t)((p[12] >> 4) * 4);
    if (hl < 20 || hl > n) hl = 20;
    s.src = WIRE_PEER_IP;
    s.dst = WIRE_US_IP;
    s.sport = rd16(p);
    s.dport = rd16(p + 2);
    s.seq = rd32(p + 4);
    s.ack = rd32(p + 8);
    s.flags = p[13];
    s.wnd = rd16(p + 14);
    s.optlen = (uint8_t)((hl - 20) & ~3);
    memcpy(s.opt, p + 20, s.optlen);
    s.len = (uint16_t)(n - hl > sizeof s.data ? sizeof s.data : n - hl);
    memcpy(s.data, p + hl, s.len);
    if (sync && seen[s.sport % 8].port == s.sport) {
        s.seq = seen[s.sport % 8].next_seq;
        s.ack = seen[s.sport % 8].next_ack;
    }
    wire_send(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[1514];

    wire_init(0x5eed, size && (data[0] & 1));
    http_init((const uint8_t *)body, sizeof body - 1, "text/plain", build_hex);
    memset(seen, 0, sizeof seen);
    memset(dhcp_xid, 0, sizeof dhcp_xid);
    if (size) data++, size--;
    while (size >= 3) {
        uint8_t op = data[0];
        size_t n = (size_t)(data[1] << 8 | data[2]);

        data += 3, size -= 3;
        if (n > size) n = size;
        switch (op & 3) {
        case 0:
        case 1:
            if (n > sizeof frame) n = sizeof frame;
            memcpy(frame, data, n);
            if (op & 1) {
                fix_dhcp(frame, n);
                wire_fix_checksums(frame, (uint16_t)n);
            }
            net_input(frame, (uint16_t)n);
            break;
        default:
            send_segment(data, (uint16_t)(n > 1514 ? 1514 : n), (op & 3) == 3);
        }
        data += n, size -= n;
        track_output();
        host_now += 4u * (op >> 2) * (op >> 2);
        net_poll();
        track_output();
    }
    return 0;
}

/* ---- Seeds ---- */

static FILE *seed;

static void put_seg(uint8_t op, uint16_t sport, uint8_t flags, const char *payload)
{
    uint8_t h[20] = {0};
    uint16_t n = (uint16_t)(20 + strlen(payload));

    wr16(h, sport);
    wr16(h + 2, WIRE_PORT);
    wr32(h + 4, 1000);
    h[12] = 5 << 4;
    h[13] = flags;
    wr16(h + 14, 65535);
    fputc(op, seed);
    fputc(n >> 8, seed);
    fputc(n & 255, seed);
    fwrite(h, 1, 20, seed);
    fputs(payload, seed);
}

static void put_frame(const uint8_t *f, uint16_t n)
{
    fputc(1, seed);                     /* raw, checksums fixed */
    fputc(n >> 8, seed);
    fputc(n & 255, seed);
    fwrite(f, 1, n, seed);
}

/* A DHCP reply offering 10.0.0.5/24 for an hour, of the given message type (2 offer, 5 ack);
 * xid zero, fixed by fix_dhcp. */
static uint16_t dhcp_reply(uint8_t *f, uint8_t type)
{
    const uint8_t opts[] = {53, 1, type, 54, 4, 10, 0, 0, 1, 1, 4, 255, 255, 255, 0,
                            3, 4, 10, 0, 0, 1, 51, 4, 0, 0, 14, 16, 255};

    return wire_dhcp(f, 0xffffffffu, (const uint8_t[4]){0}, wire_us_mac, WIRE_US_IP, opts,
                     sizeof opts);
}

static void put_exchange(const char *request)
{
    put_seg(2, 1234, TCP_SYN, "");
    put_seg(3, 1234, TCP_ACK, "");
    put_seg(3, 1234, TCP_ACK | TCP_PSH, request);
    put_seg(3 | 4 << 2, 1234, TCP_ACK, "");
    put_seg(3 | 4 << 2, 1234, TCP_ACK, "");
    put_seg(3, 1234, TCP_ACK | TCP_FIN, "");
    put_seg(3 | 63 << 2, 1234, TCP_ACK, "");
}

static void write_seeds(const char *dir)
{
    static const char *const requests[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
        ("GET / HTTP/1.0\r\n\r\nPOST /x HTTP/1.1\r\nHost: x\r\n"
         "Content-Length: 2\r\n\r\nab"),
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    };
    static const uint8_t echo[12] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
    uint8_t f[1514];
    char path[4096];
    unsigned i;

    for (i = 0; i < sizeof requests / sizeof requests[0] + 2; i++) {
        snprintf(path, sizeof path, "%s/seed-%u", dir, i);
        seed = fopen(path, "wb");
        if (!seed) {
            perror(path);
            exit(1);
        }
        if (i < sizeof requests / sizeof requests[0]) {
            fputc(0, seed);             /* a static address */
            put_exchange(requests[i]);
        } else if (i == sizeof requests / sizeof requests[0]) {
            fputc(0, seed);             /* ARP request for us, then a ping */
            put_frame(f, wire_arp(f, 1, wire_peer_mac, WIRE_PEER_IP, WIRE_US_IP));
            memcpy(f + 34, echo, sizeof echo);
            put_frame(f, wire_ip(f, WIRE_PEER_IP, WIRE_US_IP, 1, sizeof echo));
        } else {
            fputc(1, seed);             /* DHCP: offer, ack, then HTTP on the leased address */
            put_frame(f, dhcp_reply(f, 2));
            put_frame(f, dhcp_reply(f, 5));
            put_exchange(requests[0]);
        }
        fclose(seed);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_WRITE_SEEDS");

    (void)argc, (void)argv;
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}
