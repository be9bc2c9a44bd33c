/**
 * The emulated account: every image, droplet, firewall, reserved IP and SSH key, kept as JSON in
 * the emulator's state directory so that it outlives one plugin process (the engine starts a new
 * one for each `pulumi` command). All changes go through {@link Store.update}, serialized within
 * the process (the engine calls the provider concurrently) and written atomically.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface ImageRecord {
  readonly id: number;
  readonly name: string;
  readonly url: string;
  readonly regions: string[];
  readonly distribution: string;
  readonly description?: string;
  readonly tags: string[];
  readonly createdAt: string;
  readonly sizeGigabytes: number;
  readonly minDiskSize: number;
  /** The decompressed raw disk in the image store. */
  readonly file: string;
  readonly status: "available";
}

export interface DropletRecord {
  readonly id: number;
  readonly name: string;
  readonly imageId: number;
  readonly size: string;
  readonly region: string;
  readonly createdAt: string;
  readonly publicIp: string;
  readonly privateIp: string;
  readonly publicMac: string;
  readonly privateMac: string;
  readonly publicTap: string;
  readonly privateTap: string;
  /** Its directory: disk copy, pidfile, QMP socket, serial log (the emulator's, DO has none). */
  readonly dir: string;
  readonly vpcUuid: string;
  readonly tags: string[];
}

export interface FirewallRule {
  readonly protocol: string;
  readonly portRange?: string;
  readonly addresses: string[];
  readonly dropletIds: number[];
}

export interface FirewallRecord {
  readonly id: string;
  readonly name: string;
  readonly inbound: FirewallRule[];
  readonly outbound: FirewallRule[];
  readonly dropletIds: number[];
  readonly tags: string[];
  readonly createdAt: string;
}

export interface ReservedIpRecord {
  readonly ip: string;
  readonly region: string;
  readonly dropletId?: number;
}

export interface SshKeyRecord {
  readonly id: number;
  readonly name: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

export interface Account {
  nextId: number;
  /**
   * How many droplet addresses were handed out so far: addresses are not reused right away
   * (dnsmasq keeps a deleted droplet's lease until it expires and would refuse that address
   * to the next MAC; DO does not hand a released IPv4 to the next droplet at once either).
   */
  addressesUsed?: number;
  images: Record<string, ImageRecord>;
  droplets: Record<string, DropletRecord>;
  firewalls: Record<string, FirewallRecord>;
  reservedIps: Record<string, ReservedIpRecord>;
  sshKeys: Record<string, SshKeyRecord>;
}

function emptyAccount(): Account {
  // DO's ids are large integers; start somewhere that looks like one.
  return {
    nextId: 500_000_001,
    images: {},
    droplets: {},
    firewalls: {},
    reservedIps: {},
    sshKeys: {},
  };
}

export class Store {
  private queue: Promise<unknown> = Promise.resolve();
  readonly file: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, "account.json");
  }

  read(): Account {
    try {
      return JSON.parse(fs.readFileSync(this.file, "utf8")) as Account;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyAccount();
      throw e;
    }
  }

  private write(a: Account): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(a, null, 2));
    fs.renameSync(tmp, this.file);
  }

  /**
   * Runs `fn` on the current account, one call at a time; what it leaves in the account is
   * saved, also when it throws after changing something (a half-made droplet must stay findable
   * so it can be cleaned up).
   */
  update<T>(fn: (a: Account) => Promise<T> | T): Promise<T> {
    const run = async () => {
      const a = this.read();
      try {
        return await fn(a);
      } finally {
        this.write(a);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  static allocateId(a: Account): number {
    return a.nextId++;
  }
}
