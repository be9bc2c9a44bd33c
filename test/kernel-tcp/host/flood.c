/* flood.c — hostile traffic for test/kernel-tcp/hostile.test.ts, written to the tap device
 * through a raw socket from inside the guest's namespace:
 *
 *   flood syn IFNAME GUEST_MAC GUEST_IP COUNT PER_SECOND
 *       TCP SYNs to port 80 from random off-link sources (198.18.0.0/15, RFC 2544's benchmark
 *       range) and ports: a spoofed SYN flood; the guest's answers go to its gateway, the host,
 *       which drops them.
 *   flood arp IFNAME GUEST_MAC GUEST_IP COUNT PER_SECOND
 *       ARP requests for the guest from on-link senders 10.0.2.100–249 with made-up MACs.
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
#include <time.h>
#include "net/net.h"
#include "net/proto/bytes.h"

/* A SYN from a random 198.18.x.y into f; returns its length. */
static size_t syn_frame(uint8_t *f, uint32_t guest_ip)
{
    uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12 + 20];
    uint32_t src = htonl(0xC6120000u | (uint32_t)(random() & 0x1FFFF));
    wr16(f + 12, 0x0800);
    memset(ip, 0, 40);
    ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
    wr16(ip + 2, 40);
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &guest_ip, 4);
    wr16(ip + 10, inet_checksum(ip, 20, 0));
    wr16(tcp, (uint16_t)(1024 + random() % 60000));
    wr16(tcp + 2, 80);
    wr32(tcp + 4, (uint32_t)random());
    tcp[12] = 5 << 4, tcp[13] = 0x02;
    wr16(tcp + 14, 64240);
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0, pseudo[9] = 6;
    wr16(pseudo + 10, 20);
    memcpy(pseudo + 12, tcp, 20);
    wr16(tcp + 16, inet_checksum(pseudo, sizeof pseudo, 0));
    return 14 + 40;
}

/* An ARP request for the guest from 10.0.2.<100 + n % 150> with MAC 02:66:00:00:00:<n>. */
static size_t arp_frame(uint8_t *f, uint32_t guest_ip, unsigned n)
{
    uint8_t *a = f + 14;
    uint32_t spa = htonl(0x0A000200u | (100 + n % 150));
    memset(f, 0xff, 6);
    memcpy(f + 6, "\x02\x66\x00\x00\x00", 5);
    f[11] = (uint8_t)(n % 150);
    wr16(f + 12, 0x0806);
    memcpy(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
    memcpy(a + 8, f + 6, 6);
    memcpy(a + 14, &spa, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, &guest_ip, 4);
    return 14 + 28;
}

int main(int argc, char **argv)
{
    uint8_t mac[6], frame[64] = {0};
    uint32_t guest_ip;
    int syn = argc == 7 && !strcmp(argv[1], "syn");
    if (argc != 7 || (!syn && strcmp(argv[1], "arp")) ||
        sscanf(argv[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
               &mac[5]) != 6 ||
        inet_pton(AF_INET, argv[4], &guest_ip) != 1) {
        fprintf(stderr, "usage: flood syn|arp IFNAME GUEST_MAC GUEST_IP COUNT PER_SECOND\n");
        return 2;
    }
    long count = strtol(argv[5], 0, 10), rate = strtol(argv[6], 0, 10);
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[2]), .sll_halen = 6 };
    if (s < 0 || !to.sll_ifindex || rate <= 0) {
        perror("raw socket");
        return 1;
    }
    memcpy(to.sll_addr, mac, 6);
    struct timespec gap = { 0, 1000000000L / rate };
    long sent = 0;
    for (long i = 0; i < count; i++) {
        size_t len;
        if (syn) {
            memcpy(frame, mac, 6);
            memcpy(frame + 6, "\x02\x66\x00\x00\x00\x01", 6);  /* the host's address is not needed */
            len = syn_frame(frame, guest_ip);
        } else {
            len = arp_frame(frame, guest_ip, (unsigned)i);
        }
        if (sendto(s, frame, len < 60 ? 60 : len, 0, (struct sockaddr *)&to, sizeof to) > 0)
            sent++;
        nanosleep(&gap, 0);
    }
    printf("%ld\n", sent);
    return sent == count ? 0 : 1;
}
