/* checksum.c — the Internet checksum (RFC 1071) and the IPv4 pseudo-header sum. */
#include "net.h"

uint16_t inet_checksum(const void *buf, size_t len, uint32_t sum)
{
    const uint8_t *p = buf;
    for (; len > 1; len -= 2, p += 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t ip_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint8_t words[8];
    __builtin_memcpy(words, &src, 4);
    __builtin_memcpy(words + 4, &dst, 4);
    /* inet_checksum returns the complement; undo it to get the running sum. */
    return (uint16_t)~inet_checksum(words, 8, (uint32_t)proto + len);
}
