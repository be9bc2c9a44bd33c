/**
 * `exoform:proxmox`: the Proxmox VE target's settings in `stacks/Pulumi.<stack>.yaml`
 * (stacks/Pulumi.pve-example.yaml shows every field). The token secret lives in the same object,
 * set with `pulumi config set --secret --path exoform:proxmox.tokenSecret <uuid>`, so it is
 * stored encrypted and handled as a Pulumi secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { parseIpv4, sameSubnet } from "../../../lib/ipv4";
import { normalizeFingerprint, PveTls } from "./tls";

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const CIDR =
  /^((?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))\/(3[0-2]|[12]?\d)$/;
// pve-common JSONSchema.pm: pve-node (a host name label), pve-storage-id, pve-bridge-id.
const PVE_NODE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PVE_STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const PVE_BRIDGE = /^[-_.\w\d]+$/;

const StaticAddressingSchema = z
  .object({
    mode: z.literal("static"),
    /**
     * Guest addresses with prefix length (`10.20.0.50/24`), one per VM. Instance i uses the
     * entries at positions i, i+n, i+2n… (n = exoform:instances), so instances never race for
     * one; a replacement takes the next free one of its share while the old VM keeps its own,
     * hence at least 2 per instance.
     */
    pool: z
      .array(z.string().regex(CIDR, "must be an IPv4 address with prefix, like 10.20.0.50/24"))
      .min(1),
    /** The default gateway the guest uses (on the pool's subnet); absent: no default route. */
    gateway: z.string().regex(IPV4, "must be an IPv4 address, like 10.20.0.1").optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.pool.forEach((entry, i) => {
      const m = CIDR.exec(entry);
      if (!m) return;
      if (seen.has(m[1]))
        ctx.addIssue({ code: "custom", path: ["pool", i], message: `${m[1]} is listed twice` });
      seen.add(m[1]);
      if (
        a.gateway &&
        IPV4.test(a.gateway) &&
        !sameSubnet(parseIpv4(a.gateway), parseIpv4(m[1]), Number(m[2]))
      )
        ctx.addIssue({
          code: "custom",
          path: ["gateway"],
          message: `${a.gateway} is not on the subnet of ${entry}`,
        });
    });
  });

const DhcpAddressingSchema = z
  .object({
    /**
     * The guest asks the bridge's DHCP server. exoform learns the address the guest got from
     * the `exo: ip` line of its serial console, read over the API (termproxy).
     */
    mode: z.literal("dhcp"),
  })
  .strict();

const TlsSchema = z.union([
  /** PEM file of the CA that signed the API's certificate (e.g. a copy of /etc/pve/pve-root-ca.pem). */
  z.object({ caFile: z.string().min(1) }).strict(),
  /** SHA-256 fingerprint of the API's certificate (`pvenode cert info`), pinned. */
  z
    .object({
      fingerprint: z.string().refine(
        (f) => {
          try {
            normalizeFingerprint(f);
            return true;
          } catch {
            return false;
          }
        },
        { message: "must be 64 hex digits, optionally as colon-separated pairs" },
      ),
    })
    .strict(),
  /** Accept any certificate. Only for throwaway test clusters. */
  z.object({ insecure: z.literal(true) }).strict(),
]);

export const ProxmoxSettingsSchema = z
  .object({
    /** The API's base URL, e.g. https://pve1.example.net:8006 (no path). */
    endpoint: z
      .string()
      .url()
      .refine((u) => /^https?:\/\/[^/]+\/?$/.test(u), {
        message: "must be http(s)://host[:port] without a path, like https://pve1.example.net:8006",
      }),
    /** The node that stores the image and runs the VMs (uploads cannot be proxied to another node). */
    node: z.string().regex(PVE_NODE, "must be a PVE node name, like pve1"),
    /** API token id `USER@REALM!TOKENID`; the token needs the privileges in docs/targets/proxmox.md. */
    tokenId: z.string().regex(/^[^\s@!:=]+@[A-Za-z][A-Za-z0-9.\-_]*![A-Za-z][A-Za-z0-9.\-_]*$/, {
      message: "must be USER@REALM!TOKENID, like exoform@pve!deploy",
    }),
    /** The token's secret (a lower-case UUID). Set it as a secret: `pulumi config set --secret --path exoform:proxmox.tokenSecret <uuid>`. */
    tokenSecret: z
      .string({
        error: "is required: pulumi config set --secret --path exoform:proxmox.tokenSecret <uuid>",
      })
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
        message: "must be the token's secret, a lower-case UUID",
      }),
    /** File-based storage whose content types include `import`: where the image is uploaded. */
    importStorage: z.string().regex(PVE_STORAGE_ID, "must be a PVE storage id").default("local"),
    /** Storage for the VMs' disks (import-from copies the image there). */
    diskStorage: z.string().regex(PVE_STORAGE_ID, "must be a PVE storage id").default("local-lvm"),
    /** Which artefact to upload: raw (default) or the streamOptimized VMDK (smaller). */
    imageFormat: z.enum(["raw", "vmdk"]).default("raw"),
    /** The Linux bridge of the VMs' NIC (virtio). */
    bridge: z.string().regex(PVE_BRIDGE, "must be a bridge name, like vmbr0").default("vmbr0"),
    /** Static addresses from a pool (SMBIOS serial), or DHCP. */
    addressing: z
      .discriminatedUnion("mode", [StaticAddressingSchema, DhcpAddressingSchema], {
        error: (issue) =>
          issue.code === "invalid_union" ? 'must be "static" or "dhcp"' : undefined,
      })
      .default({ mode: "dhcp" }),
    /** Guest memory in MiB. PVE's minimum is 16 (qemu-server `memory`); the kernel needs 4. */
    memoryMb: z.number().int().min(16).max(4096).default(16),
    /** How to trust the API's TLS certificate; absent: the system's CAs. */
    tls: TlsSchema.optional(),
    /** Longest wait for one PVE task (upload import, create, start, stop, destroy), seconds. */
    taskTimeoutSeconds: z.number().int().min(5).max(3600).default(600),
    /** Cost model: USD per VM per month (own hardware: 0, or your share of it). */
    monthlyCostUsdPerVm: z.number().nonnegative().default(0),
    /**
     * Run the health probes inside this network namespace (`ip netns exec`, needs root) instead
     * of from this machine: for rigs whose VM bridge is only reachable there, such as the PVE
     * emulator of exoform's tests. Absent (normal): probes go out from this machine.
     */
    probeNetns: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be a network namespace name")
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    // The token would cross the network in clear text.
    if (s.endpoint.startsWith("http:") && !(s.tls && "insecure" in s.tls))
      ctx.addIssue({
        code: "custom",
        path: ["endpoint"],
        message:
          "is plain http: the API token would travel unencrypted; use https (or set tls: {insecure: true} for a throwaway test rig)",
      });
  });

export type ProxmoxSettings = z.infer<typeof ProxmoxSettingsSchema>;
export type ProxmoxSettingsInput = z.input<typeof ProxmoxSettingsSchema>;

/**
 * Checks that need the instance count too: a static pool must hold two addresses per instance
 * (one serving, one for its replacement). Returns the problems, `exoform:proxmox.<field>: …`.
 */
export function settingsProblemsFor(settings: ProxmoxSettings, instances: number): string[] {
  if (settings.addressing.mode !== "static") return [];
  const need = 2 * instances;
  const have = settings.addressing.pool.length;
  return have >= need
    ? []
    : [
        `exoform:proxmox.addressing.pool: has ${have} address(es); ${instances} instance(s) need ${need} (each needs a second one for its blue/green replacement)`,
      ];
}

/** What the Proxmox target exports per instance in `extras` (no secret). */
export const ProxmoxInstanceExtrasSchema = z.object({
  vmid: z.number().int(),
  node: z.string(),
  /** The VM's unique name, `exo-<instance>-<8 hex>`. */
  vmName: z.string(),
  mac: z.string(),
  /** The API the VM was created through. */
  endpoint: z.string(),
  tokenId: z.string(),
  /** The stack's TLS setting (no secret in it), so that `exoform logs` can connect the same way. */
  tls: TlsSchema.optional(),
});
export type ProxmoxInstanceExtras = z.infer<typeof ProxmoxInstanceExtrasSchema>;

/**
 * The TLS trust a `tls` setting asks for; a CA file is read now, relative to the project
 * directory. Throws naming the stack file (`where`) and the field when it cannot be read.
 */
export function tlsFrom(tls: ProxmoxSettings["tls"], where: string, projectDir: string): PveTls {
  if (!tls) return { mode: "system" };
  if ("insecure" in tls) return { mode: "insecure" };
  if ("fingerprint" in tls) return { mode: "fingerprint", sha256: tls.fingerprint };
  const file = path.resolve(projectDir, tls.caFile);
  try {
    return { mode: "ca", caPem: fs.readFileSync(file, "utf8") };
  } catch (e) {
    throw new Error(
      `${where}: exoform:proxmox.tls.caFile: cannot read ${file}: ${(e as Error).message}`,
    );
  }
}
