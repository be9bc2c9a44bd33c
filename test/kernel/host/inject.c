/* inject.c — sends malformed and random frames to a guest through a raw socket on the tap
 * device (run inside the guest's namespace), for test/kernel/malformed.test.ts.
 *
 *   inject IFNAME GUEST_MAC GUEST_IP HOST_IP COUNT SEED
 *
 * Each frame starts as a valid ICMP echo request, ARP request or UDP datagram to the DHCP client
 * port, then gets one kind of damage: random bytes anywhere, a bad length or header field, or
 * truncation. Header checksums are often repaired after the damage so that deeper layers see it.
 * ARP sender MACs stay the host's: a valid ARP packet that moves an address elsewhere is not
 * malformed, and the guest rightly believes it.
 *
 * Built with kernel/net/checksum.c (inet_checksum) and kernel/net/proto/bytes.h (wr16).
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "net/net.h"
#include "net/proto/bytes.h"
#include "random.h"


/* A valid frame of some kind into f; returns its length. */
static size_t make_frame(uint8_t *f, const uint8_t *guest_mac, const uint8_t *host_mac, uint32_t guest_ip,
                         uint32_t host_ip)
{
    memcpy(f, next_random() % 8 ? guest_mac : (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 6);
    memcpy(f + 6, host_mac, 6);
    uint8_t *l3 = f + 14;
    if (next_random() % 5 == 0) {  /* ARP request for the guest */
        wr16(f + 12, 0x0806);
        memcpy(l3, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
        memcpy(l3 + 8, host_mac, 6);
        memcpy(l3 + 14, &host_ip, 4);
        memset(l3 + 18, 0, 6);
        memcpy(l3 + 24, &guest_ip, 4);
        return 14 + 28;
    }
    int udp = next_random() % 3 == 0;
    size_t payload = next_random() % 1473;
    if (udp && payload < 248)
        payload = 248;  /* room for a DHCP reply's fixed part */
    wr16(f + 12, 0x0800);
    memset(l3, 0, 20);
    l3[0] = 0x45;
    wr16(l3 + 2, (uint16_t)(20 + 8 + payload));
    l3[8] = 64;
    l3[9] = udp ? 17 : 1;
    memcpy(l3 + 12, &host_ip, 4);
    memcpy(l3 + 16, &guest_ip, 4);
    uint8_t *l4 = l3 + 20;
    for (size_t i = 0; i < 8 + payload; i++)
        l4[i] = (uint8_t)next_random();
    if (udp) {  /* server → client port, no checksum; a BOOTREPLY with a random xid */
        wr16(l4, 67);
        wr16(l4 + 2, 68);
        wr16(l4 + 4, (uint16_t)(8 + payload));
        wr16(l4 + 6, 0);
        l4[8] = 2;
    } else {
        l4[0] = 8;
        l4[1] = 0;
        wr16(l4 + 2, 0);
        wr16(l4 + 2, inet_checksum(l4, 8 + payload, 0));
    }
    wr16(l3 + 10, inet_checksum(l3, 20, 0));
    return 14 + 20 + 8 + payload;
}

static size_t damage(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14;
    switch (next_random() % 8) {
    case 0:  /* random bytes anywhere */
        for (int n = 1 + next_random() % 8; n; n--)
            f[next_random() % len] = (uint8_t)next_random();
        break;
    case 1:  /* truncated, possibly inside the Ethernet header */
        return next_random() % len;
    case 2:  /* IP total length past the frame, or below the header */
        wr16(ip + 2, (uint16_t)(next_random() % 2 ? len + 1 + next_random() % 100 : next_random() % 20));
        break;
    case 3:  /* header length field */
        ip[0] = (uint8_t)(0x40 | next_random() % 16);
        break;
    case 4:  /* a fragment */
        wr16(ip + 6, (uint16_t)(next_random() % 2 ? 0x2000 : 1 + next_random() % 0x1FFF));
        break;
    case 5:  /* version or protocol */
        if (next_random() % 2)
            ip[0] = (uint8_t)(next_random() << 4 | 5);
        else
            ip[9] = (uint8_t)next_random();
        break;
    case 6:  /* bytes beyond the IP header */
        for (int n = 1 + next_random() % 4; n; n--)
            f[34 + next_random() % (len - 34)] = (uint8_t)next_random();
        break;
    default:  /* Ethernet type */
        wr16(f + 12, (uint16_t)next_random());
        break;
    }
    if (next_random() % 2 && len >= 34) {  /* repair the IP header checksum */
        wr16(ip + 10, 0);
        size_t hl = (size_t)(ip[0] & 15) * 4;
        if (hl >= 20 && 14 + hl <= len)
            wr16(ip + 10, inet_checksum(ip, hl, 0));
    }
    return len;
}

int main(int argc, char **argv)
{
    uint8_t guest_mac[6], host_mac[6], frame[1514];
    uint32_t guest_ip, host_ip;
    if (argc != 7 || sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &guest_mac[0], &guest_mac[1], &guest_mac[2],
                            &guest_mac[3], &guest_mac[4], &guest_mac[5]) != 6 ||
        inet_pton(AF_INET, argv[3], &guest_ip) != 1 || inet_pton(AF_INET, argv[4], &host_ip) != 1) {
        fprintf(stderr, "usage: inject IFNAME GUEST_MAC GUEST_IP HOST_IP COUNT SEED\n");
        return 2;
    }
    long count = strtol(argv[5], 0, 10);
    rng = (uint32_t)strtoul(argv[6], 0, 10) | 1;
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6 };
    if (s < 0 || !to.sll_ifindex) {
        perror("raw socket");
        return 1;
    }
    memcpy(to.sll_addr, guest_mac, 6);
    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s/address", argv[1]);  /* ip netns exec's /sys */
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &host_mac[0], &host_mac[1], &host_mac[2], &host_mac[3],
                     &host_mac[4], &host_mac[5]) != 6) {
        perror(path);  /* the real MAC: a made-up one would poison the guest's ARP cache */
        return 1;
    }
    fclose(f);
    long sent = 0;
    for (long i = 0; i < count; i++) {
        size_t len = damage(frame, make_frame(frame, guest_mac, host_mac, guest_ip, host_ip));
        if (len >= 14 + 28 && frame[12] == 0x08 && frame[13] == 0x06)
            memcpy(frame + 14 + 8, host_mac, 6);  /* a well-formed ARP for a new MAC is no damage */
        if (len && sendto(s, frame, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len)
            sent++;
    }
    printf("sent %ld\n", sent);
    return 0;
}
