/* pci.c — PCI configuration space through ports 0xCF8/0xCFC, and a brute-force bus scan. */
#include "arch.h"
#include "kernel.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO_MEM_MASTER 0x7
#define PCI_BAR0 0x10

uint32_t pci_read(uint32_t bdf, uint8_t off)
{
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | bdf << 8 | (off & 0xFCu));
    return inl(PCI_CONFIG_DATA);
}

static void pci_write(uint32_t bdf, uint8_t off, uint32_t v)
{
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | bdf << 8 | (off & 0xFCu));
    outl(PCI_CONFIG_DATA, v);
}

uint64_t pci_bar(uint32_t bdf, uint8_t bar)
{
    uint32_t lo = pci_read(bdf, (uint8_t)(PCI_BAR0 + 4 * bar));
    if (lo & 1)
        return lo & ~3u;                  /* I/O space */
    uint64_t addr = lo & ~15u;
    if ((lo & 6) == 4)                    /* 64-bit memory BAR: the next BAR is the high half */
        addr |= (uint64_t)pci_read(bdf, (uint8_t)(PCI_BAR0 + 4 * bar + 4)) << 32;
    return addr;
}

void pci_enable(uint32_t bdf)
{
    pci_write(bdf, PCI_COMMAND, pci_read(bdf, PCI_COMMAND) | PCI_COMMAND_IO_MEM_MASTER);
}

int pci_find(const uint32_t *ids, int n, uint32_t *found_id)
{
    /* Every bus, device and function: absent ones read as all ones, and the scan stops at the
     * first match, which on the VMs we target sits on bus 0. */
    for (uint32_t bdf = 0; bdf < 0x10000; bdf++) {
        uint32_t id = pci_read(bdf, 0);
        for (int i = 0; i < n; i++)
            if (id == ids[i]) {
                *found_id = id;
                return (int)bdf;
            }
    }
    return -1;
}
