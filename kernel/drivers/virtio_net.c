/* virtio_net.c — virtio-net driver for legacy/transitional (I/O BAR, virtio 0.9.5) and
 * modern-only (PCI capabilities, MMIO, virtio 1.0) devices.
 *
 * Both use the same split-ring layout in memory; only register access differs. Receive buffers
 * are handed back to the device as soon as the stack has seen them; transmit takes a free
 * buffer, reclaiming finished ones, and drops the frame (counted) if none frees up in time, so
 * a burst can neither deadlock nor hang the kernel. A received frame raises the legacy PCI
 * INTx line (MSI-X stays off), routed through the PIC: its only job is to end the idle loop's
 * hlt; each poll reads the ISR status register first, which lowers the line again. */
#include <string.h>
#include "arch.h"
#include "kernel.h"
#include "net/net.h"
#include "net/proto/eth.h"

#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

#define F_NET_MAC (1u << 5)
#define F_ANY_LAYOUT (1u << 27)   /* legacy: header and frame may share a descriptor */
#define F_VERSION_1_HIGH 1u       /* feature bit 32, in the second feature word */

/* Legacy registers, offsets into the I/O BAR. */
#define LEG_DEVICE_FEATURES 0
#define LEG_DRIVER_FEATURES 4
#define LEG_QUEUE_PFN 8
#define LEG_QUEUE_SIZE 12
#define LEG_QUEUE_SELECT 14
#define LEG_QUEUE_NOTIFY 16
#define LEG_STATUS 18
#define LEG_ISR 19                /* reading it acknowledges the interrupt */
#define LEG_DEVICE_CONFIG 20      /* while MSI-X is off, which it stays */

/* Modern common configuration structure (virtio 1.0 §4.1.4.3). */
#define COM_DEVICE_FEATURE_SELECT 0
#define COM_DEVICE_FEATURE 4
#define COM_DRIVER_FEATURE_SELECT 8
#define COM_DRIVER_FEATURE 12
#define COM_STATUS 20
#define COM_QUEUE_SELECT 22
#define COM_QUEUE_SIZE 24
#define COM_QUEUE_ENABLE 28
#define COM_QUEUE_NOTIFY_OFF 30
#define COM_QUEUE_DESC 32
#define COM_QUEUE_DRIVER 40
#define COM_QUEUE_DEVICE 48

#define PCI_CAP_POINTER 0x34
#define PCI_INTERRUPT_LINE 0x3C   /* the PIC input the firmware routed INTx to */
#define PCI_CAP_VENDOR 0x09
#define CAP_COMMON_CFG 1
#define CAP_NOTIFY_CFG 2
#define CAP_ISR_CFG 3
#define CAP_DEVICE_CFG 4

#define HDR_LEGACY 10             /* struct virtio_net_hdr */
#define HDR_MODERN 12             /* ... plus num_buffers, always present in virtio 1.0 */

#define QUEUE_MAX 1024            /* the largest queue QEMU offers */
#define RX_BUFS 64
#define TX_BUFS 16
#define BUF_SIZE 1536             /* header + the largest frame */
#define TX_WAIT_MS 100

#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1

#define ALIGN_4K(x) (((x) + 4095) & ~4095)
#define RING_BYTES(n) ALIGN_4K(ALIGN_4K(16 * (n) + 6 + 2 * (n)) + 6 + 8 * (n))  /* legacy layout, whole pages */

#define MMIO8(a) (*(volatile uint8_t *)(a))
#define MMIO16(a) (*(volatile uint16_t *)(a))
#define MMIO32(a) (*(volatile uint32_t *)(a))

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct vring_avail {
    uint16_t flags, idx, ring[];
};
struct vring_used {
    uint16_t flags, idx;
    struct { uint32_t id, len; } ring[];
};

struct virtqueue {
    uint16_t index, size, buffers, last_used, notify_off;
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
};

static struct {
    int modern;
    uint16_t io;                           /* legacy: I/O BAR */
    uint8_t *common, *notify, *isr, *config;  /* modern: MMIO structures */
    uint32_t notify_multiplier;
    uint16_t hdr_len;
} dev;

static struct virtqueue rxq, txq;
static uint8_t rings[2][RING_BYTES(QUEUE_MAX)] __attribute__((aligned(4096)));
static uint8_t rx_bufs[RX_BUFS][BUF_SIZE], tx_bufs[TX_BUFS][BUF_SIZE];
static uint16_t tx_free[TX_BUFS], tx_nfree;

static void set_status(uint8_t s)
{
    if (dev.modern)
        MMIO8(dev.common + COM_STATUS) = s;
    else
        outb(dev.io + LEG_STATUS, s);
}

static uint8_t get_status(void) { return dev.modern ? MMIO8(dev.common + COM_STATUS) : inb(dev.io + LEG_STATUS); }

static void write_addr(unsigned reg, volatile void *p)
{
    MMIO32(dev.common + reg) = (uint32_t)(uintptr_t)p;
    MMIO32(dev.common + reg + 4) = 0;  /* everything we own is below 4 GiB */
}

/* Locate the modern structures through the vendor capabilities (virtio 1.0 §4.1.4). */
static int find_modern_structures(uint32_t bdf)
{
    uint8_t ptr = (uint8_t)pci_read(bdf, PCI_CAP_POINTER);
    for (int guard = 0; ptr && guard < 48; guard++) {
        uint32_t head = pci_read(bdf, ptr);  /* id, next, length, cfg_type */
        uint8_t bar = (uint8_t)pci_read(bdf, (uint8_t)(ptr + 4));
        if ((head & 0xFF) == PCI_CAP_VENDOR && bar < 6) {
            uint64_t addr = pci_bar(bdf, bar) + pci_read(bdf, (uint8_t)(ptr + 8));
            uint8_t *p = addr >> 32 ? 0 : (uint8_t *)(uintptr_t)addr;  /* beyond the identity map */
            switch (head >> 24) {
            case CAP_COMMON_CFG: dev.common = p; break;
            case CAP_NOTIFY_CFG:
                dev.notify = p;
                dev.notify_multiplier = pci_read(bdf, (uint8_t)(ptr + 16));
                break;
            case CAP_ISR_CFG: dev.isr = p; break;
            case CAP_DEVICE_CFG: dev.config = p; break;
            }
        }
        ptr = (uint8_t)(head >> 8) & 0xFC;
    }
    return dev.common && dev.notify && dev.isr && dev.config ? 0 : -1;
}

/* `interrupts`: the device interrupts when it has used buffers of this queue. */
static int vq_init(struct virtqueue *q, uint16_t index, uint8_t *mem, uint16_t buffers, int interrupts)
{
    uint16_t n;
    if (dev.modern) {
        MMIO16(dev.common + COM_QUEUE_SELECT) = index;
        n = MMIO16(dev.common + COM_QUEUE_SIZE);
    } else {
        outw(dev.io + LEG_QUEUE_SELECT, index);
        n = inw(dev.io + LEG_QUEUE_SIZE);
    }
    if (!n || n > QUEUE_MAX || (n & (n - 1)))
        return -1;
    q->index = index;
    q->size = n;
    q->buffers = n < buffers ? n : buffers;
    q->desc = (void *)mem;
    q->avail = (void *)(mem + 16 * n);
    q->used = (void *)(mem + ALIGN_4K(16 * n + 6 + 2 * n));
    q->avail->flags = interrupts ? 0 : AVAIL_F_NO_INTERRUPT;
    if (dev.modern) {
        write_addr(COM_QUEUE_DESC, q->desc);
        write_addr(COM_QUEUE_DRIVER, q->avail);
        write_addr(COM_QUEUE_DEVICE, q->used);
        q->notify_off = MMIO16(dev.common + COM_QUEUE_NOTIFY_OFF);
        MMIO16(dev.common + COM_QUEUE_ENABLE) = 1;
    } else {
        outl(dev.io + LEG_QUEUE_PFN, (uint32_t)((uintptr_t)mem >> 12));
    }
    return 0;
}

/* Offer descriptor `id` to the device. */
static void vq_push(struct virtqueue *q, uint16_t id)
{
    q->avail->ring[q->avail->idx & (q->size - 1)] = id;
    barrier();  /* the entry before the index that publishes it (x86 keeps stores in order) */
    q->avail->idx++;
}

static void vq_notify(struct virtqueue *q)
{
    barrier();
    if (q->used->flags & USED_F_NO_NOTIFY)
        return;
    if (dev.modern)
        MMIO16(dev.notify + q->notify_off * dev.notify_multiplier) = q->index;
    else
        outw(dev.io + LEG_QUEUE_NOTIFY, q->index);
}

/* Next used descriptor id, or -1 when the device has returned nothing new. */
static int vq_pop(struct virtqueue *q, uint32_t *len)
{
    if (q->last_used == q->used->idx)
        return -1;
    barrier();
    uint16_t slot = q->last_used++ & (q->size - 1);
    *len = q->used->ring[slot].len;
    return (int)q->used->ring[slot].id;
}

int virtio_net_init(uint32_t bdf, int modern, uint8_t mac[6])
{
    uint8_t status = STATUS_ACK | STATUS_DRIVER;
    dev.modern = modern;
    pci_enable(bdf);
    if (modern) {
        if (find_modern_structures(bdf))
            return -1;
        dev.hdr_len = HDR_MODERN;
    } else {
        dev.io = (uint16_t)pci_bar(bdf, 0);
        dev.hdr_len = HDR_LEGACY;
    }
    set_status(0);  /* reset */
    set_status(STATUS_ACK);
    set_status(status);
    if (modern) {
        MMIO32(dev.common + COM_DEVICE_FEATURE_SELECT) = 0;
        uint32_t offered = MMIO32(dev.common + COM_DEVICE_FEATURE);
        MMIO32(dev.common + COM_DRIVER_FEATURE_SELECT) = 0;
        MMIO32(dev.common + COM_DRIVER_FEATURE) = offered & F_NET_MAC;
        MMIO32(dev.common + COM_DRIVER_FEATURE_SELECT) = 1;
        MMIO32(dev.common + COM_DRIVER_FEATURE) = F_VERSION_1_HIGH;
        status |= STATUS_FEATURES_OK;
        set_status(status);
        if (!(get_status() & STATUS_FEATURES_OK))
            return -1;
    } else {
        outl(dev.io + LEG_DRIVER_FEATURES, inl(dev.io + LEG_DEVICE_FEATURES) & (F_NET_MAC | F_ANY_LAYOUT));
    }
    if (vq_init(&rxq, 0, rings[0], RX_BUFS, 1) || vq_init(&txq, 1, rings[1], TX_BUFS, 0))
        return -1;
    for (uint16_t i = 0; i < rxq.buffers; i++) {
        rxq.desc[i].addr = (uintptr_t)rx_bufs[i];
        rxq.desc[i].len = BUF_SIZE;
        rxq.desc[i].flags = DESC_F_WRITE;
        vq_push(&rxq, i);
    }
    for (uint16_t i = 0; i < txq.buffers; i++) {
        txq.desc[i].addr = (uintptr_t)tx_bufs[i];  /* headers stay zero: no offloads */
        tx_free[tx_nfree++] = i;
    }
    for (int i = 0; i < 6; i++)
        mac[i] = modern ? MMIO8(dev.config + i) : inb((uint16_t)(dev.io + LEG_DEVICE_CONFIG + i));
    uint8_t irq = (uint8_t)pci_read(bdf, PCI_INTERRUPT_LINE);
    if (irq < 16)                         /* else unrouted: the timer tick still wakes us */
        irq_unmask(irq);
    set_status(status | STATUS_DRIVER_OK);
    vq_notify(&rxq);
    return 0;
}

int virtio_net_poll(void)
{
    uint32_t len;
    int id, n = 0;
    /* Acknowledge before looking at the ring: a frame that comes after this raises the line
     * again, so the idle wait cannot miss it. */
    if (dev.modern)
        (void)MMIO8(dev.isr);
    else
        (void)inb(dev.io + LEG_ISR);
    /* At most one ring's worth per call, so timers still run under a flood. */
    while (n < rxq.buffers && (id = vq_pop(&rxq, &len)) >= 0) {
        if (id >= rxq.buffers) {
            net_stats.drop_eth++;  /* not a descriptor we gave: nothing to recycle */
            continue;
        }
        if (len > dev.hdr_len)
            net_input(rx_bufs[id] + dev.hdr_len, (uint16_t)(len - dev.hdr_len));
        else
            net_stats.drop_eth++;
        vq_push(&rxq, (uint16_t)id);
        n++;
    }
    if (n)
        vq_notify(&rxq);
    return n;
}

static void tx_reclaim(void)
{
    uint32_t len;
    int id;
    while ((id = vq_pop(&txq, &len)) >= 0)
        if (id < txq.buffers && tx_nfree < txq.buffers)
            tx_free[tx_nfree++] = (uint16_t)id;
}

void plat_tx(const void *frame, uint16_t len)
{
    uint32_t start = plat_now_ms();
    for (tx_reclaim(); !tx_nfree || len > ETH_FRAME_MAX; tx_reclaim()) {
        if (len > ETH_FRAME_MAX || plat_now_ms() - start > TX_WAIT_MS) {
            net_stats.drop_tx++;  /* oversized, or the device stopped taking frames */
            return;
        }
        cpu_relax();
    }
    uint16_t id = tx_free[--tx_nfree];
    memcpy(tx_bufs[id] + dev.hdr_len, frame, len);
    txq.desc[id].len = dev.hdr_len + len;
    vq_push(&txq, id);
    vq_notify(&txq);
}
