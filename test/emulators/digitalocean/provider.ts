/**
 * The emulated `digitalocean` provider: Pulumi's provider interface (check, diff, create, read,
 * update, delete) for the six resource types exoform deploys, behind the same property names,
 * required inputs and replace-on-change sets as pulumi-digitalocean 4.80.1 (schema.ts), with
 * droplets that are real QEMU VMs on bridges of the emulator's network namespace (droplets.ts,
 * network.ts) and images imported from a URL the way DO does (images.ts).
 *
 * Behaviour and messages follow terraform-provider-digitalocean (the bridged provider; files
 * named per method below) and godo's error format `<METHOD> <url>: <status> (request "<id>")
 * <message>` (godo `godo.go` ErrorResponse.Error). The emulator's own knobs are environment
 * variables, since the provider's config keys are DO's:
 * - `EXOFORM_DO_EMULATOR_DIR` (required): the state directory (account.json, image store,
 *   droplet directories, dnsmasq files);
 * - `EXOFORM_DO_EMULATOR_TOKEN`: the only API token accepted (else any non-empty one);
 * - `EXOFORM_DO_EMULATOR_ACCEL`: `tcg` (default) or `kvm`.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import {
  dropletFiles,
  dropletRunning,
  powerOff,
  REGIONS,
  SIZES,
  startDroplet,
  stopDroplet,
} from "./droplets";
import { DiskFormat, fetchImage, ImportError, storeImage } from "./images";
import {
  addLease,
  addReservedAddress,
  applyRules,
  createTap,
  deleteTap,
  ensureNetwork,
  nextFreeAddress,
  PUBLIC_BRIDGE,
  PUBLIC_GATEWAY,
  PUBLIC_PREFIX,
  removeLease,
  removeNetwork,
  removeReservedAddress,
  RESERVED_IP_BASE,
  rotatingAddress,
  VPC_BRIDGE,
  VPC_GATEWAY,
  VPC_PREFIX,
} from "./network";
import {
  containsUnknown,
  diffInputs,
  isUnknown,
  missingRequired,
  parseUrn,
  PROVIDER_VERSION,
  TypeName,
  unwrapSecrets,
  withDefaults,
} from "./schema";
import { Account, DropletRecord, FirewallRule, Store } from "./store";

type Props = Record<string, unknown>;

/** Provider configuration as the engine passes it to Configure (`digitalocean:*`). */
export interface ProviderConfig {
  token?: string;
  apiEndpoint?: string;
  spacesAccessId?: string;
  spacesSecretKey?: string;
  spacesEndpoint?: string;
}

/** A DO API error as godo formats it. */
class ApiError extends Error {
  constructor(method: string, url: string, status: number, message: string) {
    super(`${method} ${url}: ${status} (request "${randomUUID()}") ${message}`);
  }
}

/** Image distributions TF-DO accepts (`image/resource_custom_image.go` validImageDistributions). */
const DISTRIBUTIONS = [
  "Arch Linux",
  "CentOS",
  "CoreOS",
  "Debian",
  "Fedora",
  "Fedora Atomic",
  "FreeBSD",
  "Gentoo",
  "openSUSE",
  "RancherOS",
  "Ubuntu",
  "Unknown",
  "Unknown OS",
];

/** The bridge's autoname: `<name>-<7 hex>` (pulumi-terraform-bridge `tfbridge/names.go`). */
function autoname(name: string): string {
  return `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

/** `id.PrefixedUniqueId` of terraform-plugin-sdk: the prefix, then a time-ordered 26-digit id. */
let uniqueCounter = 0;
function prefixedUniqueId(prefix: string): string {
  const t = new Date().toISOString().replace(/\D/g, "").slice(0, 17);
  return `${prefix}${t}${String(++uniqueCounter).padStart(8, "0")}`.slice(0, prefix.length + 26);
}

/** MD5 of the key blob, colon-separated hex: the fingerprint DO shows for an SSH key. */
export function sshFingerprint(publicKey: string): string | undefined {
  const parts = publicKey.trim().split(/\s+/);
  if (
    parts.length < 2 ||
    !/^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-\S+)$/.test(parts[0])
  )
    return undefined;
  const blob = Buffer.from(parts[1], "base64");
  if (blob.length < 8 || blob.readUInt32BE(0) + 4 > blob.length) return undefined;
  if (blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") !== parts[0]) return undefined;
  return createHash("md5")
    .update(blob)
    .digest("hex")
    .replace(/(..)(?!$)/g, "$1:");
}

/** Deterministic per-region default VPC id (DO gives each region a default VPC). */
function defaultVpc(region: string): string {
  const h = createHash("sha1").update(`vpc:${region}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function randomMac(): string {
  return `52:54:00:${randomBytes(3)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1:")}`;
}

/** Removes undefined values (a protobuf Struct cannot carry them). */
function clean(o: Props): Props {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

export class DigitalOceanEmulator implements pulumiProvider.Provider {
  readonly version = PROVIDER_VERSION;
  private config: ProviderConfig = {};
  private readonly store: Store;
  private readonly accel: "tcg" | "kvm";

  constructor(stateDir = process.env.EXOFORM_DO_EMULATOR_DIR) {
    if (!stateDir)
      throw new Error("EXOFORM_DO_EMULATOR_DIR must name the emulator's state directory");
    this.store = new Store(stateDir);
    this.accel = process.env.EXOFORM_DO_EMULATOR_ACCEL === "kvm" ? "kvm" : "tcg";
  }

  get stateDir(): string {
    return this.store.dir;
  }

  /** Called with the provider's configuration before any resource operation. */
  configure(config: ProviderConfig): void {
    this.config = config;
  }

  private api(): string {
    return (this.config.apiEndpoint || "https://api.digitalocean.com").replace(/\/$/, "");
  }

  /** Every API call authenticates; DO answers 401 "Unable to authenticate you". */
  private authenticate(method: string, apiPath: string): void {
    const token =
      this.config.token || process.env.DIGITALOCEAN_TOKEN || process.env.DIGITALOCEAN_ACCESS_TOKEN;
    const expected = process.env.EXOFORM_DO_EMULATOR_TOKEN;
    if (!token || (expected && token !== expected))
      throw new ApiError(method, `${this.api()}${apiPath}`, 401, "Unable to authenticate you");
  }

  private error(method: string, apiPath: string, status: number, message: string): ApiError {
    return new ApiError(method, `${this.api()}${apiPath}`, status, message);
  }

  // ---- check ----

  async check(urn: string, olds: Props, newsIn: Props): Promise<pulumiProvider.CheckResult> {
    const { type, name } = parseUrn(urn);
    const news = withDefaults(type, unwrapSecrets(newsIn) as Props);
    const failures: pulumiProvider.CheckFailure[] = missingRequired(type, news).map((property) => ({
      property,
      reason: `Missing required property '${property}'`,
    }));
    if (type !== "ReservedIp" && type !== "ReservedIpAssignment" && news.name === undefined)
      news.name = typeof olds?.name === "string" ? olds.name : autoname(name);
    const known = (k: string) => news[k] !== undefined && !containsUnknown(news[k]);
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    switch (type) {
      case "CustomImage":
        if (known("distribution") && !DISTRIBUTIONS.includes(String(news.distribution)))
          fail(
            "distribution",
            `expected distribution to be one of ${JSON.stringify(DISTRIBUTIONS)}, got ${news.distribution}`,
          );
        if (known("regions") && strings(news.regions).length === 0)
          fail("regions", "regions: at least one region is required");
        break;
      case "Droplet":
        for (const k of ["image", "size", "region", "vpcUuid", "userData"])
          if (known(k) && news[k] === "") fail(k, `${k}: must not be empty`);
        if (news.backupPolicy !== undefined && news.backups !== true)
          fail("backupPolicy", "backup_policy can only be set when backups are enabled");
        break;
      case "Firewall":
        checkFirewallRules(news, fail);
        break;
      case "ReservedIpAssignment":
        if (known("ipAddress") && !/^(\d{1,3})(\.\d{1,3}){3}$/.test(String(news.ipAddress)))
          fail(
            "ipAddress",
            `expected ip_address to contain a valid IPv4 address, got: ${news.ipAddress}`,
          );
        if (known("dropletId") && !news.dropletId) fail("dropletId", "droplet_id must not be zero");
        break;
      case "SshKey":
        if (known("publicKey") && String(news.publicKey).trim() === "")
          fail("publicKey", "public_key must not be empty");
        break;
      default:
        break;
    }
    return { inputs: news, failures };
  }

  // ---- diff ----

  async diff(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
  ): Promise<pulumiProvider.DiffResult> {
    const { changed, replaces } = await this.detailedDiff(id, urn, olds, news);
    return { changes: changed.length > 0, replaces };
  }

  /**
   * The diff with its changed keys, which the engine needs to apply a resource's
   * `replaceOnChanges` (pkg/resource/deploy/step_generator.go applyReplaceOnChanges reads
   * ChangedKeys / DetailedDiff); main.ts sends them, as the bridged provider does.
   */
  async detailedDiff(
    _id: string,
    urn: string,
    oldsIn: Props,
    newsIn: Props,
  ): Promise<{ changed: string[]; replaces: string[] }> {
    const { type } = parseUrn(urn);
    const olds = unwrapSecrets(oldsIn) as Props;
    const news = unwrapSecrets(newsIn) as Props;
    const { changed, replaces } = diffInputs(type, olds, news);
    // TF-DO image/resource_custom_image.go: "Images can not currently be removed from a region."
    if (type === "CustomImage" && !containsUnknown(news.regions)) {
      const kept = new Set(strings(news.regions));
      if (strings(olds.regions).some((r) => !kept.has(r)) && !replaces.includes("regions"))
        replaces.push("regions");
    }
    // TF-DO droplet: turning IPv6 off forces a new droplet (CustomizeDiff, issue #1104).
    if (type === "Droplet" && olds.ipv6 === true && news.ipv6 === false) replaces.push("ipv6");
    return { changed, replaces };
  }

  // ---- create ----

  async create(urn: string, inputsIn: Props): Promise<pulumiProvider.CreateResult> {
    const { type } = parseUrn(urn);
    const inputs = unwrapSecrets(inputsIn) as Props;
    switch (type) {
      case "CustomImage":
        return this.createImage(inputs);
      case "Droplet":
        return this.createDroplet(inputs);
      case "Firewall":
        return this.createFirewall(inputs);
      case "ReservedIp":
        return this.createReservedIp(inputs);
      case "ReservedIpAssignment":
        return this.createAssignment(inputs);
      case "SshKey":
        return this.createSshKey(inputs);
    }
  }

  /** TF-DO `image/resource_custom_image.go` create: POST /v2/images, wait for `available`. */
  private async createImage(inputs: Props): Promise<pulumiProvider.CreateResult> {
    this.authenticate("POST", "/v2/images");
    const regions = strings(inputs.regions);
    const bad = regions.find((r) => !(REGIONS as readonly string[]).includes(r));
    if (bad)
      throw new Error(
        `Error creating custom image: ${this.error("POST", "/v2/images", 422, `${bad} is not a valid region`).message}`,
      );
    const id = await this.store.update((a) => Store.allocateId(a));
    let fetched;
    try {
      fetched = await fetchImage(String(inputs.url));
    } catch (e) {
      const reason =
        e instanceof ImportError ? e.message : `import failed: ${(e as Error).message}`;
      throw new Error(`Error waiting for image (${id}) to become ready: ${reason}`);
    }
    const file = path.join(this.stateDir, "images", `${id}.${fetched.format}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    storeImage(file, fetched.disk);
    const record = {
      id,
      name: String(inputs.name),
      url: String(inputs.url),
      regions,
      distribution: String(inputs.distribution ?? "Unknown"),
      description: inputs.description === undefined ? undefined : String(inputs.description),
      tags: strings(inputs.tags),
      createdAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      sizeGigabytes: fetched.sizeGigabytes,
      minDiskSize: Math.max(1, Math.ceil(fetched.disk.length / 2 ** 30)),
      file,
      status: "available" as const,
    };
    await this.store.update((a) => {
      a.images[id] = record;
    });
    return { id: String(id), outs: this.imageOuts(inputs, record) };
  }

  private imageOuts(inputs: Props, r: Account["images"][string]): Props {
    return clean({
      ...inputs,
      name: r.name,
      regions: r.regions,
      distribution: r.distribution,
      description: r.description,
      tags: r.tags,
      imageId: r.id,
      type: "custom",
      slug: "",
      public: false,
      minDiskSize: r.minDiskSize,
      sizeGigabytes: r.sizeGigabytes,
      createdAt: r.createdAt,
      status: r.status,
    });
  }

  /** TF-DO `droplet/resource_droplet.go` create: POST /v2/droplets, wait for `active`. */
  private async createDroplet(inputs: Props): Promise<pulumiProvider.CreateResult> {
    this.authenticate("POST", "/v2/droplets");
    const wrap = (status: number, message: string) =>
      new Error(
        `Error creating droplet: ${this.error("POST", "/v2/droplets", status, message).message}`,
      );
    const sizeSlug = String(inputs.size).toLowerCase();
    const size = SIZES[sizeSlug];
    if (!size) throw wrap(422, "You specified an invalid size for Droplet creation.");
    const made = await this.store.update(async (a) => {
      const image = a.images[String(inputs.image)];
      if (!image) throw wrap(422, "You specified an invalid image for Droplet creation.");
      const region =
        inputs.region === undefined ? image.regions[0] : String(inputs.region).toLowerCase();
      if (!(REGIONS as readonly string[]).includes(region))
        throw wrap(422, "You specified an invalid region for Droplet creation.");
      if (!image.regions.includes(region))
        throw wrap(
          422,
          `You specified an invalid image for Droplet creation. The image is not available in ${region}.`,
        );
      for (const key of strings(inputs.sshKeys)) {
        const known = Object.values(a.sshKeys).some(
          (k) => k.fingerprint === key || String(k.id) === key,
        );
        if (!known) throw wrap(422, "You specified an invalid ssh key for Droplet creation.");
      }
      const vpcUuid = inputs.vpcUuid === undefined ? defaultVpc(region) : String(inputs.vpcUuid);
      const id = Store.allocateId(a);
      const drops = Object.values(a.droplets);
      const used = a.addressesUsed ?? 0;
      a.addressesUsed = used + 1;
      const record: DropletRecord = {
        id,
        name: String(inputs.name),
        imageId: image.id,
        size: sizeSlug,
        region,
        createdAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        publicIp: rotatingAddress(
          PUBLIC_GATEWAY,
          PUBLIC_PREFIX,
          used,
          drops.map((d) => d.publicIp),
        ),
        privateIp: rotatingAddress(
          VPC_GATEWAY,
          VPC_PREFIX,
          used,
          drops.map((d) => d.privateIp),
        ),
        publicMac: randomMac(),
        privateMac: randomMac(),
        publicTap: `d${id}p`,
        privateTap: `d${id}v`,
        dir: path.join(this.stateDir, "droplets", String(id)),
        vpcUuid,
        tags: strings(inputs.tags),
      };
      a.droplets[id] = record;
      await ensureNetwork(this.stateDir);
      return { record, image };
    });
    const { record: d, image } = made;
    try {
      await createTap(d.publicTap, PUBLIC_BRIDGE);
      await createTap(d.privateTap, VPC_BRIDGE);
      addLease(this.stateDir, PUBLIC_BRIDGE, d.id, d.publicMac, d.publicIp);
      addLease(this.stateDir, VPC_BRIDGE, d.id, d.privateMac, d.privateIp);
      await this.boot(d, image.file, size.memory);
    } catch (e) {
      await this.destroyDroplet(d.id);
      throw new Error(
        `Error waiting for droplet (${d.id}) to become ready: ${(e as Error).message}`,
      );
    }
    return { id: String(d.id), outs: this.dropletOuts(inputs, d) };
  }

  private async boot(d: DropletRecord, imageFile: string, memoryMb: number): Promise<void> {
    const format = path.extname(imageFile).slice(1) as DiskFormat;
    const files = dropletFiles(d.dir, format);
    fs.mkdirSync(d.dir, { recursive: true });
    if (!fs.existsSync(files.disk)) fs.copyFileSync(imageFile, files.disk);
    await startDroplet({
      files,
      format,
      memoryMb,
      accel: this.accel,
      publicTap: d.publicTap,
      publicMac: d.publicMac,
      privateTap: d.privateTap,
      privateMac: d.privateMac,
    });
  }

  private dropletOuts(inputs: Props, d: DropletRecord): Props {
    const size = SIZES[d.size];
    return clean({
      ...inputs,
      name: d.name,
      size: d.size,
      region: d.region,
      vpcUuid: d.vpcUuid,
      tags: d.tags,
      status: dropletRunning(d.dir) ? "active" : "off",
      ipv4Address: d.publicIp,
      ipv4AddressPrivate: d.privateIp,
      ipv6Address: "",
      locked: false,
      privateNetworking: true,
      publicNetworking: inputs.publicNetworking ?? true,
      volumeIds: strings(inputs.volumeIds),
      disk: size.disk,
      memory: size.memory,
      vcpus: size.vcpus,
      priceMonthly: size.priceMonthly,
      priceHourly: size.priceHourly,
      createdAt: d.createdAt,
      dropletUrn: `do:droplet:${d.id}`,
    });
  }

  /**
   * Stops the droplet's QEMU, removes its taps and leases, and does what DO does to the rest:
   * reserved IPs pointing at it are unassigned, firewalls forget it. The network goes once
   * nothing uses it.
   */
  private async destroyDroplet(id: number): Promise<void> {
    await this.store.update(async (a) => {
      const d = a.droplets[id];
      if (!d) return;
      await stopDroplet(d.dir);
      await deleteTap(d.publicTap);
      await deleteTap(d.privateTap);
      removeLease(this.stateDir, PUBLIC_BRIDGE, id);
      removeLease(this.stateDir, VPC_BRIDGE, id);
      delete a.droplets[id];
      for (const r of Object.values(a.reservedIps))
        if (r.dropletId === id) a.reservedIps[r.ip] = { ip: r.ip, region: r.region };
      for (const f of Object.values(a.firewalls))
        a.firewalls[f.id] = { ...f, dropletIds: f.dropletIds.filter((x) => x !== id) };
      await this.settleNetwork(a);
    });
  }

  /** Rules for what exists; the whole network removed once no droplet or reserved IP needs it. */
  private async settleNetwork(a: Account): Promise<void> {
    if (Object.keys(a.droplets).length === 0 && Object.keys(a.reservedIps).length === 0)
      await removeNetwork(this.stateDir, []);
    else await applyRules(a);
  }

  /** TF-DO `firewall/resource_firewall.go` create: POST /v2/firewalls. */
  private async createFirewall(inputs: Props): Promise<pulumiProvider.CreateResult> {
    this.authenticate("POST", "/v2/firewalls");
    const record = await this.store.update(async (a) => {
      const record = firewallRecord(
        randomUUID(),
        inputs,
        new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      );
      const missing = record.dropletIds.find((id) => !a.droplets[id]);
      if (missing !== undefined)
        throw new Error(
          `Error creating firewall: ${this.error("POST", "/v2/firewalls", 422, `droplet ${missing} not found`).message}`,
        );
      a.firewalls[record.id] = record;
      if (Object.keys(a.droplets).length > 0) await applyRules(a);
      return record;
    });
    return { id: record.id, outs: firewallOuts(inputs, record) };
  }

  /** TF-DO `reservedip/resource_reserved_ip.go` create: POST /v2/reserved_ips {region | droplet_id}. */
  private async createReservedIp(inputs: Props): Promise<pulumiProvider.CreateResult> {
    this.authenticate("POST", "/v2/reserved_ips");
    const region = String(inputs.region).toLowerCase();
    if (!(REGIONS as readonly string[]).includes(region))
      throw new Error(
        `Error creating reserved IP: ${this.error("POST", "/v2/reserved_ips", 422, "You specified an invalid region.").message}`,
      );
    const record = await this.store.update(async (a) => {
      const dropletId = inputs.dropletId === undefined ? undefined : Number(inputs.dropletId);
      if (dropletId !== undefined && !a.droplets[dropletId])
        throw new Error(
          `Error creating reserved IP: ${this.error("POST", "/v2/reserved_ips", 422, "Droplet not found.").message}`,
        );
      const ip = nextFreeAddress(RESERVED_IP_BASE, Object.keys(a.reservedIps));
      const r = { ip, region, dropletId };
      a.reservedIps[ip] = r;
      await ensureNetwork(this.stateDir);
      await addReservedAddress(ip);
      await applyRules(a);
      return r;
    });
    return { id: record.ip, outs: reservedIpOuts(inputs, record) };
  }

  /** TF-DO `reservedip/resource_reserved_ip_assignment.go` create: the `assign` action. */
  private async createAssignment(inputs: Props): Promise<pulumiProvider.CreateResult> {
    const ip = String(inputs.ipAddress);
    const dropletId = Number(inputs.dropletId);
    this.authenticate("POST", `/v2/reserved_ips/${ip}/actions`);
    await this.store.update(async (a) => {
      const r = a.reservedIps[ip];
      const fail = (status: number, message: string) =>
        new Error(
          `Error Assigning reserved IP (${ip}) to the droplet: ${this.error("POST", `/v2/reserved_ips/${ip}/actions`, status, message).message}`,
        );
      if (!r) throw fail(404, "The resource you were accessing could not be found.");
      if (!a.droplets[dropletId]) throw fail(422, "Droplet not found.");
      a.reservedIps[ip] = { ...r, dropletId };
      await applyRules(a);
    });
    return { id: prefixedUniqueId(`${dropletId}-${ip}-`), outs: { ipAddress: ip, dropletId } };
  }

  /** TF-DO `sshkey/resource_ssh_key.go` create: POST /v2/account/keys. */
  private async createSshKey(inputs: Props): Promise<pulumiProvider.CreateResult> {
    this.authenticate("POST", "/v2/account/keys");
    const publicKey = String(inputs.publicKey).trim();
    const fingerprint = sshFingerprint(publicKey);
    const fail = (message: string) =>
      new Error(
        `Error creating SSH Key: ${this.error("POST", "/v2/account/keys", 422, message).message}`,
      );
    if (!fingerprint) throw fail("Key invalid, key should be of the form 'type key [comment]'");
    const record = await this.store.update((a) => {
      if (Object.values(a.sshKeys).some((k) => k.fingerprint === fingerprint))
        throw fail("SSH Key is already in use on your account");
      const r = { id: Store.allocateId(a), name: String(inputs.name), publicKey, fingerprint };
      a.sshKeys[r.id] = r;
      return r;
    });
    return { id: String(record.id), outs: { ...inputs, name: record.name, fingerprint } };
  }

  // ---- read (refresh) ----

  async read(id: string, urn: string, propsIn: Props): Promise<pulumiProvider.ReadResult> {
    const { type } = parseUrn(urn);
    const props = unwrapSecrets(propsIn) as Props;
    const a = this.store.read();
    const gone = { id: "", props: {} };
    switch (type) {
      case "CustomImage": {
        const r = a.images[id];
        return r ? { id, props: this.imageOuts(props, r) } : gone;
      }
      case "Droplet": {
        const d = a.droplets[id];
        return d ? { id, props: this.dropletOuts(props, d) } : gone;
      }
      case "Firewall": {
        const f = a.firewalls[id];
        return f ? { id, props: firewallOuts(props, f) } : gone;
      }
      case "ReservedIp": {
        const r = a.reservedIps[id];
        return r ? { id, props: reservedIpOuts(props, r) } : gone;
      }
      case "ReservedIpAssignment": {
        const ip = String(props.ipAddress);
        const r = a.reservedIps[ip];
        if (!r)
          throw new Error(
            `Error retrieving reserved IP: ${this.error("GET", `/v2/reserved_ips/${ip}`, 404, "The resource you were accessing could not be found.").message}`,
          );
        // TF-DO: the assignment is gone once the IP points elsewhere (or nowhere).
        return r.dropletId === Number(props.dropletId) ? { id, props } : gone;
      }
      case "SshKey": {
        const k = a.sshKeys[id];
        return k
          ? {
              id,
              props: { ...props, name: k.name, publicKey: k.publicKey, fingerprint: k.fingerprint },
            }
          : gone;
      }
    }
  }

  // ---- update ----

  async update(
    id: string,
    urn: string,
    oldsIn: Props,
    newsIn: Props,
  ): Promise<pulumiProvider.UpdateResult> {
    const { type } = parseUrn(urn);
    const olds = unwrapSecrets(oldsIn) as Props;
    const news = unwrapSecrets(newsIn) as Props;
    switch (type) {
      case "CustomImage": {
        this.authenticate("PUT", `/v2/images/${id}`);
        const r = await this.store.update((a) => {
          const r = {
            ...a.images[id],
            name: String(news.name),
            distribution: String(news.distribution ?? "Unknown"),
            description: news.description === undefined ? undefined : String(news.description),
            tags: strings(news.tags),
            regions: strings(news.regions),
          };
          a.images[id] = r;
          return r;
        });
        return { outs: this.imageOuts(news, r) };
      }
      case "Droplet":
        return { outs: await this.updateDroplet(Number(id), olds, news) };
      case "Firewall": {
        this.authenticate("PUT", `/v2/firewalls/${id}`);
        const r = await this.store.update(async (a) => {
          const r = firewallRecord(
            id,
            news,
            a.firewalls[id]?.createdAt ?? new Date().toISOString(),
          );
          a.firewalls[id] = r;
          if (Object.keys(a.droplets).length > 0) await applyRules(a);
          return r;
        });
        return { outs: firewallOuts(news, r) };
      }
      case "ReservedIp": {
        this.authenticate("POST", `/v2/reserved_ips/${id}/actions`);
        const r = await this.store.update(async (a) => {
          const dropletId =
            news.dropletId === undefined ? a.reservedIps[id]?.dropletId : Number(news.dropletId);
          const r = { ...a.reservedIps[id], dropletId };
          a.reservedIps[id] = r;
          await applyRules(a);
          return r;
        });
        return { outs: reservedIpOuts(news, r) };
      }
      case "SshKey": {
        this.authenticate("PUT", `/v2/account/keys/${id}`);
        await this.store.update((a) => {
          a.sshKeys[id] = { ...a.sshKeys[id], name: String(news.name) };
        });
        return { outs: { ...olds, ...news } };
      }
      case "ReservedIpAssignment":
        throw new Error("ReservedIpAssignment has no update: every input forces replacement");
    }
  }

  /**
   * TF-DO droplet update: a new size powers the droplet off, resizes and powers it on again (the
   * QEMU restarts with the new memory); name and tags change in place; the rest is recorded.
   */
  private async updateDroplet(id: number, olds: Props, news: Props): Promise<Props> {
    this.authenticate("POST", `/v2/droplets/${id}/actions`);
    const size = String(news.size).toLowerCase();
    if (!SIZES[size])
      throw new Error(
        `Error resizing droplet (${id}): ${this.error("POST", `/v2/droplets/${id}/actions`, 422, "You specified an invalid size for Droplet resize.").message}`,
      );
    const { d, imageFile } = await this.store.update((a) => {
      const d = { ...a.droplets[id], name: String(news.name), tags: strings(news.tags), size };
      a.droplets[id] = d;
      return { d, imageFile: a.images[d.imageId]?.file };
    });
    if (String(olds.size).toLowerCase() !== size) {
      const format = path.extname(imageFile ?? ".raw").slice(1) as DiskFormat;
      const files = dropletFiles(d.dir, format);
      await powerOff(d.dir);
      await this.boot(d, imageFile ?? files.disk, SIZES[size].memory);
    }
    return this.dropletOuts(news, d);
  }

  // ---- delete ----

  async delete(id: string, urn: string, propsIn: Props): Promise<void> {
    const { type } = parseUrn(urn);
    const props = unwrapSecrets(propsIn) as Props;
    switch (type) {
      case "CustomImage": {
        this.authenticate("DELETE", `/v2/images/${id}`);
        await this.store.update((a) => {
          const r = a.images[id];
          if (r) fs.rmSync(r.file, { force: true });
          delete a.images[id];
        });
        return;
      }
      case "Droplet":
        this.authenticate("DELETE", `/v2/droplets/${id}`);
        return this.destroyDroplet(Number(id));
      case "Firewall":
        this.authenticate("DELETE", `/v2/firewalls/${id}`);
        await this.store.update(async (a) => {
          delete a.firewalls[id];
          if (Object.keys(a.droplets).length > 0) await applyRules(a);
        });
        return;
      case "ReservedIp":
        this.authenticate("DELETE", `/v2/reserved_ips/${id}`);
        await this.store.update(async (a) => {
          delete a.reservedIps[id];
          await removeReservedAddress(id);
          await this.settleNetwork(a);
        });
        return;
      case "ReservedIpAssignment":
        return this.deleteAssignment(String(props.ipAddress), Number(props.dropletId));
      case "SshKey":
        this.authenticate("DELETE", `/v2/account/keys/${id}`);
        await this.store.update((a) => {
          delete a.sshKeys[id];
        });
        return;
    }
  }

  /**
   * TF-DO `reservedip/resource_reserved_ip_assignment.go` delete: read the reserved IP and
   * unassign it only if it still points at this assignment's droplet, so that a create-before-
   * delete replacement (new assignment first) keeps the new droplet (TF-DO#147, PR#149). Like the
   * real code, an IP that points nowhere dereferences a nil droplet.
   */
  private async deleteAssignment(ip: string, dropletId: number): Promise<void> {
    this.authenticate("GET", `/v2/reserved_ips/${ip}`);
    await this.store.update(async (a) => {
      const r = a.reservedIps[ip];
      if (!r)
        throw new Error(
          `Error retrieving reserved IP: ${this.error("GET", `/v2/reserved_ips/${ip}`, 404, "The resource you were accessing could not be found.").message}`,
        );
      if (r.dropletId === undefined)
        throw new Error(
          "panic: runtime error: invalid memory address or nil pointer dereference (reservedIP.Droplet is nil)",
        );
      if (r.dropletId !== dropletId) return;
      a.reservedIps[ip] = { ip: r.ip, region: r.region };
      await applyRules(a);
    });
  }
}

function rulesOf(v: unknown, addressKey: string, dropletKey: string): FirewallRule[] {
  return (Array.isArray(v) ? v : []).map((r: Props) => ({
    protocol: String(r.protocol),
    portRange: r.portRange === undefined ? undefined : String(r.portRange),
    addresses: strings(r[addressKey]),
    dropletIds: strings(r[dropletKey]).map(Number),
  }));
}

function firewallRecord(id: string, inputs: Props, createdAt: string) {
  return {
    id,
    name: String(inputs.name),
    inbound: rulesOf(inputs.inboundRules, "sourceAddresses", "sourceDropletIds"),
    outbound: rulesOf(inputs.outboundRules, "destinationAddresses", "destinationDropletIds"),
    dropletIds: strings(inputs.dropletIds).map(Number),
    tags: strings(inputs.tags),
    createdAt,
  };
}

function firewallOuts(inputs: Props, r: { createdAt: string }): Props {
  return clean({ ...inputs, status: "succeeded", pendingChanges: [], createdAt: r.createdAt });
}

function reservedIpOuts(
  inputs: Props,
  r: { ip: string; region: string; dropletId?: number },
): Props {
  return clean({
    ...inputs,
    ipAddress: r.ip,
    region: r.region,
    dropletId: r.dropletId,
    reservedIpUrn: `do:reservedip:${r.ip}`,
  });
}

/**
 * TF-DO `firewall/resource_firewall.go` + `firewall/firewalls.go` validation: protocol tcp, udp
 * or icmp; a port range for tcp and udp; at least one source (destination) per rule; and at
 * least one rule.
 */
function checkFirewallRules(news: Props, fail: (property: string, reason: string) => void): void {
  const groups: [string, string, string[]][] = [
    [
      "inboundRules",
      "inbound",
      [
        "sourceAddresses",
        "sourceDropletIds",
        "sourceKubernetesIds",
        "sourceLoadBalancerUids",
        "sourceTags",
      ],
    ],
    [
      "outboundRules",
      "outbound",
      [
        "destinationAddresses",
        "destinationDropletIds",
        "destinationKubernetesIds",
        "destinationLoadBalancerUids",
        "destinationTags",
      ],
    ],
  ];
  let count = 0;
  for (const [key, word, ends] of groups) {
    const rules = news[key];
    if (rules === undefined || isUnknown(rules) || !Array.isArray(rules)) continue;
    rules.forEach((r: Props, i) => {
      count++;
      if (containsUnknown(r)) return;
      const proto = String(r.protocol ?? "");
      if (!["tcp", "udp", "icmp"].includes(proto))
        fail(
          `${key}[${i}].protocol`,
          `expected protocol to be one of ["tcp" "udp" "icmp"], got ${proto}`,
        );
      if ((proto === "tcp" || proto === "udp") && !r.portRange)
        fail(
          `${key}[${i}].portRange`,
          `\`port_range\` of ${word} rules is required if protocol is \`tcp\` or \`udp\``,
        );
      if (!ends.some((e) => strings(r[e]).length > 0))
        fail(
          `${key}[${i}]`,
          `each ${word} rule needs at least one ${word === "inbound" ? "source" : "destination"}`,
        );
    });
  }
  if (count === 0 && !isUnknown(news.inboundRules) && !isUnknown(news.outboundRules))
    fail("inboundRules", "At least one rule must be specified");
}

export type { TypeName };
