/* main.c — bring the kernel up, one step per line, then serve forever. */
#include "arch.h"
#include "config.h"
#include "kernel.h"
#include "net/http.h"
#include "net/net.h"

#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_NET_TRANSITIONAL (VIRTIO_VENDOR | 0x1000u << 16)
#define VIRTIO_NET_MODERN (VIRTIO_VENDOR | 0x1041u << 16)

extern const uint8_t CONFIG_BLOCK[];  /* layout.ld: where the MBR put LBA 40–47 */

static struct exo_config cfg;
static char build_hex[2 * CONFIG_BUILD_ID_BYTES + 1];

static void report(const char *what, const char *reason)
{
    if (reason)
        net_logf("config: %s invalid: %s", what, reason);
}

static __attribute__((noreturn)) void fail(const char *line)
{
    plat_log(line);
    halt();
}

void kmain(void)
{
    static const uint32_t nic_ids[] = { VIRTIO_NET_TRANSITIONAL, VIRTIO_NET_MODERN };
    uint32_t nic_id;
    int bdf;

    plat_log("exo: long mode");                                 /* the MBR got us here */
    time_init();                                                /* TSC vs PIT, 1 kHz tick */
    config_defaults(&cfg);                                      /* DHCP, port 80, no body */
    report("image block", config_apply_image(&cfg, CONFIG_BLOCK));  /* port, body, build id, net */
    for (int i = 0; i < CONFIG_BUILD_ID_BYTES; i++) {           /* the image id, as hex */
        build_hex[2 * i] = "0123456789abcdef"[cfg.build_id[i] >> 4];
        build_hex[2 * i + 1] = "0123456789abcdef"[cfg.build_id[i] & 15];
    }
    net_logf("exo: kernel %s", build_hex);
    if ((bdf = pci_find(nic_ids, 2, &nic_id)) < 0)              /* first virtio-net function */
        fail("exo: no virtio-net device");
    if (virtio_net_init((uint32_t)bdf, nic_id == VIRTIO_NET_MODERN, cfg.net.mac))
        fail("exo: virtio-net init failed");
    net_logf("exo: pci %x:%x.%u virtio-net %s mac %M", bdf >> 8, bdf >> 3 & 31, bdf & 7,
             nic_id == VIRTIO_NET_MODERN ? "modern" : "legacy", cfg.net.mac);
    report("smbios", config_apply_smbios(&cfg, smbios_serial()));  /* SMBIOS beats the image */
    net_logf("exo: config %s", cfg.net_source);
    tcp_init(cfg.net.http_port);                                /* the HTTP server */
    http_init(cfg.body, cfg.body_len, cfg.content_type, build_hex);
    net_init(&cfg.net);                                         /* static address, or DHCP */
    for (;;) {
        int frames = virtio_net_poll();                         /* frames → net_input */
        net_poll();                                             /* DHCP, ARP, TCP timers */
        if (!frames)
            time_idle();                                        /* until a frame or the tick */
    }
}
