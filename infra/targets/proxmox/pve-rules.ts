/**
 * Proxmox VE's own rules, as pure functions: upload file names, the `smbios1` property, task ids
 * (UPIDs) and task outcomes, `/cluster/nextid` answers, versions. Each cites the PVE source it
 * follows; the unit tests pin them (test/targets/proxmox/pve-rules.test.ts).
 */
import { z } from "zod";

/** The extensions `content=import` accepts for disk images (pve-storage `Storage/Status.pm`). */
export const IMPORT_DISK_EXTENSIONS = ["raw", "qcow2", "vmdk"] as const;
export type ImportDiskFormat = (typeof IMPORT_DISK_EXTENSIONS)[number];

/** Upload file names are at most 255 characters (pve-storage `API2/Storage/Status.pm`, `filename`). */
export const MAX_UPLOAD_FILENAME = 255;

/**
 * The name PVE stores an upload under: it replaces every character outside `[a-zA-Z0-9_.-]` by
 * `_` before checking the extension (pve-storage `API2/Storage/Status.pm`, upload). Pure.
 */
export function normalizeUploadFilename(name: string): string {
  return name.replace(/[^a-zA-Z0-9_.-]/g, "_");
}

/**
 * Why PVE would refuse `name` as an upload with `content=import`, or undefined. Lower-case
 * extensions only; `.img` is accepted for ISOs, never for imports. Pure.
 */
export function importFilenameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > MAX_UPLOAD_FILENAME)
    return `is ${name.length} characters long (PVE allows ${MAX_UPLOAD_FILENAME})`;
  if (normalizeUploadFilename(name) !== name)
    return `contains characters PVE would replace by "_" (allowed: a-z A-Z 0-9 _ . -)`;
  const extension = /\.([^.]+)$/.exec(name)?.[1];
  if (!extension || !(IMPORT_DISK_EXTENSIONS as readonly string[]).includes(extension))
    return `must end in .${IMPORT_DISK_EXTENSIONS.join(", .")} (lower case) for content=import`;
  return undefined;
}

/** `exoform-<image id>.<format>`: the full id, so two images never share a volume. Pure. */
export function importFilenameFor(imageId: string, format: ImportDiskFormat): string {
  if (!/^[0-9a-f]{64}$/.test(imageId))
    throw new Error(`not an image id (64 lower-case hex digits): ${JSON.stringify(imageId)}`);
  return `exoform-${imageId}.${format}`;
}

/** The volume id of an import upload: `<storage>:import/<file name>` (pve-storage `Plugin.pm`). */
export function importVolid(storage: string, filename: string): string {
  return `${storage}:import/${filename}`;
}

/** `smbios1` is a property string of at most 512 characters (qemu-server `QemuServer.pm`). */
export const SMBIOS1_MAX_LENGTH = 512;
/** What every smbios1 text field must match, even without base64=1 (qemu-server `QemuServer.pm`). */
export const SMBIOS1_TEXT_FIELD = /^[A-Za-z0-9+/]+={0,2}$/;

/** How the guest gets its IPv4 settings: what the kernel reads from the SMBIOS serial. */
export type GuestAddressing =
  | { readonly mode: "dhcp" }
  | { readonly mode: "static"; readonly address: string; readonly gateway?: string };

/**
 * The SMBIOS type 1 serial the kernel reads (docs/boot-contract.md): `exo:net=dhcp` or
 * `exo:net=static;ip=<a.b.c.d/p>[;gw=<a.b.c.d>]`. Pure.
 */
export function guestSerial(addressing: GuestAddressing): string {
  if (addressing.mode === "dhcp") return "exo:net=dhcp";
  const gw = addressing.gateway ? `;gw=${addressing.gateway}` : "";
  return `exo:net=static;ip=${addressing.address}${gw}`;
}

/**
 * The `smbios1` value carrying `serial` (any bytes): `serial=<base64>,base64=1`. PVE decodes the
 * value before handing it to QEMU, so the guest reads `serial` itself. Throws when the result
 * would break PVE's rules (length, base64 alphabet). Pure.
 */
export function smbios1ForSerial(serial: string): string {
  const encoded = Buffer.from(serial, "utf8").toString("base64");
  if (!SMBIOS1_TEXT_FIELD.test(encoded))
    throw new Error(`smbios1 serial ${JSON.stringify(serial)} does not encode to plain base64`);
  const value = `serial=${encoded},base64=1`;
  if (value.length > SMBIOS1_MAX_LENGTH)
    throw new Error(
      `smbios1 would be ${value.length} characters; PVE allows ${SMBIOS1_MAX_LENGTH} (serial ${JSON.stringify(serial)})`,
    );
  return value;
}

/**
 * The decoded serial of an `smbios1` value, or undefined when it has none. Reads what
 * smbios1ForSerial writes and what PVE shows in a VM's config. Pure.
 */
export function serialOfSmbios1(smbios1: string): string | undefined {
  const fields = new Map(
    smbios1.split(",").map((kv) => {
      const eq = kv.indexOf("=");
      return eq < 0 ? [kv, ""] : [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
  const serial = fields.get("serial");
  if (serial === undefined) return undefined;
  return fields.get("base64") === "1" ? Buffer.from(serial, "base64").toString("utf8") : serial;
}

/** The static address (without prefix) a serial written by guestSerial assigns, if any. Pure. */
export function staticAddressOfSerial(serial: string): string | undefined {
  if (!serial.startsWith("exo:")) return undefined;
  const ip = /(?:^exo:|;)ip=([0-9.]+)\//.exec(serial)?.[1];
  return ip;
}

/** A decoded task id (pve-common `PVE/Tools.pm`, upid_decode). */
export interface Upid {
  readonly upid: string;
  /** The node that runs the task: its status must be read there. */
  readonly node: string;
  readonly pid: number;
  /** Start time, seconds since the epoch. */
  readonly startTime: number;
  /** e.g. `qmcreate`, `qmstart`, `qmstop`, `qmdestroy`, `imgcopy`. */
  readonly type: string;
  /** The object the task works on (a VMID, a volume), may be empty. */
  readonly id: string;
  /** Who started it, e.g. `exoform@pve!deploy`. */
  readonly user: string;
}

// UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id>:<user>:
const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

/** Parses a UPID; throws naming what was received when it is not one. Pure. */
export function parseUpid(text: unknown, what: string): Upid {
  const m = typeof text === "string" ? UPID_PATTERN.exec(text) : null;
  if (!m)
    throw new Error(
      `${what}: expected a task id (UPID:<node>:…), got ${JSON.stringify(text)?.slice(0, 200)}`,
    );
  return {
    upid: text as string,
    node: m[1],
    pid: parseInt(m[2], 16),
    startTime: parseInt(m[4], 16),
    type: m[5],
    id: m[6],
    user: m[7],
  };
}

/** `GET /nodes/{node}/tasks/{upid}/status` (pve-manager `API2/Tasks.pm`), the fields used. */
export const TaskStatusSchema = z.looseObject({
  status: z.enum(["running", "stopped"]),
  exitstatus: z.string().optional(),
});
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/**
 * Whether a stopped task succeeded: `OK` or `WARNINGS: n` (pve-common `RESTEnvironment.pm`);
 * anything else is the error text. Pure.
 */
export function taskFailure(status: TaskStatus): string | undefined {
  if (status.status !== "stopped") return undefined;
  const exit = status.exitstatus ?? "";
  if (exit === "OK" || /^WARNINGS: \d+$/.test(exit)) return undefined;
  return exit === "" ? "ended without an exit status" : exit;
}

/**
 * `GET /cluster/nextid` answers a JSON string (`"100"`) although its schema says integer
 * (pve-manager `API2/Cluster.pm`); accept both, refuse anything else. VMIDs are 100–999999999
 * (pve-common `JSONSchema.pm`, pve-vmid). Pure.
 */
export function parseNextId(value: unknown): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d{1,9}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n < 100 || n > 999_999_999)
    throw new Error(
      `GET /cluster/nextid: expected a VMID (100–999999999, as a string), got ${JSON.stringify(value)}`,
    );
  return n;
}

/** The first PVE release whose `content=import` uploads take raw, qcow2 and vmdk (pve-storage 8.3.6). */
export const MIN_PVE_VERSION = "8.4";

/** Whether `version` (`GET /version` → `version`, e.g. "8.4.1" or "9.0") is at least `min`. Pure. */
export function versionAtLeast(version: string, min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).map((p) => parseInt(p, 10) || 0);
  const a = parse(version);
  const b = parse(min);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
