/* smbios.c — find the SMBIOS table in the BIOS area; config.c reads the serial number in it. */
#include <string.h>
#include "config.h"
#include "kernel.h"

#define BIOS_AREA 0xF0000
#define BIOS_AREA_END 0x100000

const char *smbios_serial(void)
{
    for (uintptr_t p = BIOS_AREA; p < BIOS_AREA_END; p += 16) {  /* anchors are 16-byte aligned */
        const uint8_t *ep = (const uint8_t *)p;
        uint64_t table = 0;
        uint32_t len = 0;
        if (!memcmp(ep, "_SM3_", 5)) {          /* SMBIOS 3: 64-bit table address */
            memcpy(&len, ep + 0x0C, 4);
            memcpy(&table, ep + 0x10, 8);
        } else if (!memcmp(ep, "_SM_", 4)) {    /* SMBIOS 2.1+: 32-bit table address */
            memcpy(&len, ep + 0x16, 2);
            memcpy(&table, ep + 0x18, 4);
        } else {
            continue;
        }
        /* Outside the identity map, or absurd: no SMBIOS configuration. */
        return table >> 32 || len > 0x100000 ? 0 : smbios_type1_serial((const uint8_t *)(uintptr_t)table, len);
    }
    return 0;
}
