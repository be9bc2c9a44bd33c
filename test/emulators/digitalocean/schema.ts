/**
 * The emulated provider's resource schema: for each of the six DigitalOcean types exoform uses,
 * the input properties with what the real provider says about them (required, replace on change,
 * schema default, optional+computed), and the outputs it computes. Pure data plus the generic
 * check/diff over it; the resource behaviour lives in provider.ts.
 *
 * Sources (pulumi-digitalocean 4.80.1 is the Terraform provider bridged; its schema.json marks
 * TF `ForceNew` as `willReplaceOnChanges`):
 * - names and required inputs: the installed `@pulumi/digitalocean` typings (`*Args` interfaces);
 *   diff.test.ts checks this table against them.
 * - ForceNew, Default, Computed: terraform-provider-digitalocean `digitalocean/droplet/resource_droplet.go`,
 *   `image/resource_custom_image.go`, `firewall/resource_firewall.go`, `reservedip/resource_reserved_ip.go`,
 *   `reservedip/resource_reserved_ip_assignment.go`, `sshkey/resource_ssh_key.go`; summarised in
 *   /work/shared/notes/cloud-facts.md §1.
 * - autonaming of `name` (the bridge fills a missing name with `<resource name>-<7 hex>`):
 *   pulumi-digitalocean `provider/resources.go`; a recorded Droplet in
 *   `provider/testdata/recorded/TestProviderUpgrade/index_droplet/.../stack.json` has one.
 */

export type TypeName =
  "CustomImage" | "Droplet" | "Firewall" | "ReservedIp" | "ReservedIpAssignment" | "SshKey";

export interface PropSpec {
  /** Required in the `*Args` typings (the program must give it). */
  readonly required?: boolean;
  /** TF ForceNew: a change replaces the resource. */
  readonly replaceOnChange?: boolean;
  /** TF schema Default, filled in by check like the bridge does. */
  readonly default?: unknown;
  /** TF Optional+Computed: when the program leaves it out, the provider's value stands (no diff). */
  readonly computed?: boolean;
  /** A TF set: order does not matter when diffing. */
  readonly set?: boolean;
}

export interface TypeSpec {
  readonly token: string;
  readonly inputs: Readonly<Record<string, PropSpec>>;
  /** Outputs the provider computes (besides the inputs, which it echoes). */
  readonly outputs: readonly string[];
  /** The bridge autonames `name` when the program leaves it out. */
  readonly autoname: boolean;
}

export const PROVIDER_VERSION = "4.80.1";

export const SCHEMA: Readonly<Record<TypeName, TypeSpec>> = {
  CustomImage: {
    token: "digitalocean:index/customImage:CustomImage",
    inputs: {
      url: { required: true, replaceOnChange: true },
      regions: { required: true, set: true }, // removal forces replacement (CustomizeDiff)
      name: {},
      distribution: { default: "Unknown" },
      description: {},
      tags: { set: true },
    },
    outputs: [
      "createdAt",
      "imageId",
      "minDiskSize",
      "public",
      "sizeGigabytes",
      "slug",
      "status",
      "type",
    ],
    autoname: true,
  },
  Droplet: {
    token: "digitalocean:index/droplet:Droplet",
    inputs: {
      image: { required: true, replaceOnChange: true },
      size: { required: true },
      name: {},
      region: { replaceOnChange: true, computed: true },
      sshKeys: { replaceOnChange: true, set: true },
      userData: { replaceOnChange: true },
      vpcUuid: { replaceOnChange: true, computed: true },
      monitoring: { replaceOnChange: true, default: false },
      dropletAgent: { replaceOnChange: true },
      publicNetworking: { replaceOnChange: true, computed: true },
      gpuPartitionMode: { replaceOnChange: true },
      tags: { set: true },
      ipv6: { default: false },
      ipv6Address: { computed: true },
      backups: { default: false },
      backupPolicy: {},
      gracefulShutdown: { default: false },
      resizeDisk: { default: true },
      volumeIds: { set: true, computed: true },
      privateNetworking: { computed: true },
    },
    outputs: [
      "createdAt",
      "disk",
      "dropletUrn",
      "ipv4Address",
      "ipv4AddressPrivate",
      "locked",
      "memory",
      "priceHourly",
      "priceMonthly",
      "status",
      "vcpus",
    ],
    autoname: true,
  },
  Firewall: {
    token: "digitalocean:index/firewall:Firewall",
    inputs: {
      name: {},
      inboundRules: { set: true },
      outboundRules: { set: true },
      dropletIds: { set: true },
      tags: { set: true },
    },
    outputs: ["createdAt", "pendingChanges", "status"],
    autoname: true,
  },
  ReservedIp: {
    token: "digitalocean:index/reservedIp:ReservedIp",
    inputs: {
      region: { required: true, replaceOnChange: true },
      dropletId: { computed: true },
      ipAddress: { computed: true },
    },
    outputs: ["reservedIpUrn"],
    autoname: false,
  },
  ReservedIpAssignment: {
    token: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
    inputs: {
      ipAddress: { required: true, replaceOnChange: true },
      dropletId: { required: true, replaceOnChange: true },
    },
    outputs: [],
    autoname: false,
  },
  SshKey: {
    token: "digitalocean:index/sshKey:SshKey",
    inputs: {
      publicKey: { required: true, replaceOnChange: true },
      name: {},
    },
    outputs: ["fingerprint"],
    autoname: true,
  },
};

/** "urn:pulumi:stack::project::digitalocean:index/droplet:Droplet::web" → Droplet / "web". */
export function parseUrn(urn: string): { type: TypeName; name: string } {
  const parts = urn.split("::");
  const token = parts[2]?.split("$").pop() ?? "";
  const type = (Object.keys(SCHEMA) as TypeName[]).find((t) => SCHEMA[t].token === token);
  if (!type) throw new Error(`the DigitalOcean emulator does not implement ${token || urn}`);
  return { type, name: parts[3] ?? "" };
}

/** The engine's marker for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

export function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** Secrets arrive as `{<sig>: <secret>, value}` (the provider accepts secrets): plain values. */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

function isEmpty(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    v === "" ||
    v === false ||
    v === 0 ||
    (Array.isArray(v) && v.length === 0)
  );
}

function canonical(v: unknown, set: boolean): string {
  if (Array.isArray(v) && set) return JSON.stringify(v.map((x) => JSON.stringify(x)).sort());
  return JSON.stringify(v ?? null);
}

/** Whether `news[key]` changes `olds[key]` under the property's rules. */
export function propertyChanged(spec: PropSpec, old: unknown, news: unknown): boolean {
  if (containsUnknown(news)) return true;
  // Left out: an optional+computed property keeps the provider's value; any other goes back
  // to its default (or to nothing), which is a change when the old value was something else.
  if (news === undefined) return !spec.computed && !isEmpty(old) && old !== spec.default;
  if (isEmpty(news) && isEmpty(old)) return false;
  return canonical(old, !!spec.set) !== canonical(news, !!spec.set);
}

export interface GenericDiff {
  readonly changed: string[];
  readonly replaces: string[];
}

/** Changed inputs and those among them that force replacement. Pure. */
export function diffInputs(
  type: TypeName,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): GenericDiff {
  const changed: string[] = [];
  const replaces: string[] = [];
  for (const [key, spec] of Object.entries(SCHEMA[type].inputs)) {
    if (!propertyChanged(spec, olds[key], news[key])) continue;
    changed.push(key);
    if (spec.replaceOnChange) replaces.push(key);
  }
  return { changed, replaces };
}

/** Inputs with schema defaults filled in, as the bridge's Check does. Pure. */
export function withDefaults(
  type: TypeName,
  news: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...news };
  for (const [key, spec] of Object.entries(SCHEMA[type].inputs))
    if (out[key] === undefined && spec.default !== undefined) out[key] = spec.default;
  return out;
}

/** Missing required inputs, each as the bridge reports them. Pure. */
export function missingRequired(type: TypeName, news: Record<string, unknown>): string[] {
  return Object.entries(SCHEMA[type].inputs)
    .filter(([key, spec]) => spec.required && (news[key] === undefined || news[key] === null))
    .map(([key]) => key);
}
