/** The local target's settings, `exoform:local` (QEMU on this machine). */
import { z } from "zod";

export const LocalSettingsSchema = z
  .object({
    /** tcg (default: works everywhere) or kvm (needs a usable /dev/kvm). */
    accel: z.enum(["tcg", "kvm"]).default("tcg"),
    /** Guest memory in MiB; when absent, qemu.ts's default (what the kernel is made for). */
    memoryMb: z.number().int().min(2).max(4096).optional(),
    /**
     * netns: a network namespace with tap + dnsmasq (needs root: CAP_NET_ADMIN and
     * CAP_SYS_ADMIN; ICMP and HTTP are checked). user: QEMU user-mode networking with a
     * forwarded HTTP port (ICMP is skipped). auto: netns when allowed, else user.
     */
    network: z.enum(["auto", "netns", "user"]).default("auto"),
  })
  .strict();
export type LocalSettings = z.infer<typeof LocalSettingsSchema>;

/** What the local target exports per instance in `extras` (paths relative to the project). */
export const LocalInstanceExtrasSchema = z.object({
  network: z.enum(["netns", "user"]),
  netns: z.string().optional(),
  pid: z.number().int(),
  pidFile: z.string(),
  serialLog: z.string(),
});
export type LocalInstanceExtras = z.infer<typeof LocalInstanceExtrasSchema>;
