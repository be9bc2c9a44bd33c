/* kernel.h — the kernel-only pieces main.c puts together: timer, PCI, virtio-net, SMBIOS.
 * (The network stack and the config parser are in net/ and config.h: they also build on a host.) */
#ifndef EXO_KERNEL_H
#define EXO_KERNEL_H

#include <stdint.h>

/* time.c: calibrates the TSC against the PIT (then plat_now_ms and plat_random work), sets up
 * the PICs and starts a 100 Hz tick. irq_unmask lets an IRQ line end the idle wait; time_idle
 * halts until the next interrupt (a frame, or the tick). */
void time_init(void);
void irq_unmask(uint8_t irq);
void time_idle(void);

/* drivers/pci.c: configuration mechanism #1. bdf = bus << 8 | device << 3 | function. */
uint32_t pci_read(uint32_t bdf, uint8_t off);
uint64_t pci_bar(uint32_t bdf, uint8_t bar);   /* memory address or I/O port of a BAR */
void pci_enable(uint32_t bdf);                  /* I/O, memory and bus mastering on */
/* First function whose vendor/device id (vendor | device << 16) is in ids[]; -1 if none. */
int pci_find(const uint32_t *ids, int n, uint32_t *found_id);

/* drivers/virtio_net.c: transmit is plat_tx (net.h); a received frame raises the PCI INTx line
 * (unmasked at the PIC) to wake time_idle, and virtio_net_poll acknowledges it. */
int virtio_net_init(uint32_t bdf, int modern, uint8_t mac[6]);  /* 0 or -1 */
int virtio_net_poll(void);                      /* received frames → net_input; how many */

/* drivers/smbios.c: the SMBIOS type 1 serial number string, or 0. */
const char *smbios_serial(void);

#endif
