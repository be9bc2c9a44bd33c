/**
 * One exoform guest for a test: its own network namespace (tap + host address, dnsmasq when
 * asked), QEMU under TCG inside it, and a temp dir for the disk and logs. stop() undoes all of
 * it; stopAllGuests() (for afterAll) catches guests a failed test left behind.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  createNetns,
  DhcpLease,
  netnsCommand,
  removeNetns,
  startDnsmasq,
} from "../../infra/targets/local/netns";
import {
  isQemuRunning,
  launchQemu,
  qemuCommand,
  QemuOptions,
  readSerial,
  stopQemu,
  waitForSerial,
} from "../../infra/targets/local/qemu";
import { BootSoftware, configBlock, writeDisk } from "./kernel-image";

const execFileAsync = promisify(execFile);

/** Inside every test namespace: the host end of the link (also the guest's gateway). */
export const HOST_CIDR = "10.0.2.2/24";
export const GATEWAY = "10.0.2.2";
export const DHCP_ADDRESS = "10.0.2.15";

/**
 * One link of a guest with several (`GuestOptions.links`): a tap `tap<i>` in the namespace with
 * the host address `hostCidr`, a legacy-only virtio-net NIC on it (as DigitalOcean's), and, when
 * `dnsmasq` is given, a dnsmasq of its own on that tap with these extra arguments (ranges,
 * hosts, options: `{mac}` in them becomes the NIC's MAC).
 */
export interface GuestLink {
  readonly hostCidr: string;
  readonly dnsmasq?: readonly string[];
}

export interface GuestOptions {
  /** The configuration block at LBA 40; default: a valid one that says DHCP. */
  readonly block?: Buffer;
  readonly smbiosSerial?: string;
  readonly modernVirtioOnly?: boolean;
  /** Start dnsmasq with the namespace (it always leases DHCP_ADDRESS to this guest). */
  readonly dhcp?: boolean;
  /**
   * Instead of the one tap (and `dhcp`): these links, NICs in this PCI order; the first one's
   * MAC is `mac`, link i's is `linkMac(i)`.
   */
  readonly links?: readonly GuestLink[];
}

const live = new Set<TestGuest>();

export class TestGuest {
  readonly mac = `52:54:00:${randomBytes(3)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1:")}`;
  readonly netns = `exo-t-${randomBytes(4).toString("hex")}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-t-"));
  readonly serialLog = path.join(this.dir, "serial.log");
  /** The disk's image id, which the kernel reports as its build id. */
  imageId = "";
  private readonly files = {
    disk: path.join(this.dir, "disk.raw"),
    pidFile: path.join(this.dir, "qemu.pid"),
    qmpSocket: path.join(this.dir, "qmp.sock"),
    serialLog: this.serialLog,
  };

  private constructor() {
    live.add(this);
  }

  /** Namespace, disk and QEMU; on failure everything made so far is removed again. */
  static async start(boot: BootSoftware, o: GuestOptions = {}): Promise<TestGuest> {
    const g = new TestGuest();
    try {
      g.imageId = writeDisk(g.files.disk, boot, o.block ?? configBlock("net=dhcp\n\n"));
      if (o.links) {
        await g.startLinks(o.links, o.smbiosSerial);
        return g;
      }
      await createNetns({
        name: g.netns,
        dir: g.dir,
        hostCidr: HOST_CIDR,
        dhcp: o.dhcp ? g.lease : undefined,
      });
      await launchQemu({
        ...g.files,
        netns: g.netns,
        net: { kind: "tap", mac: g.mac },
        smbiosSerial: o.smbiosSerial,
        modernVirtioOnly: o.modernVirtioOnly,
      });
      return g;
    } catch (e) {
      await g.stop();
      throw e;
    }
  }

  /** The MAC of the NIC on link `i` (link 0: `mac`). */
  linkMac(i: number): string {
    return i === 0 ? this.mac : `${this.mac.slice(0, -2)}${(0xa0 + i).toString(16)}`;
  }

  /**
   * The namespace with one tap per link, a dnsmasq per link that asks for one, and QEMU with a
   * legacy-only virtio-net NIC per link (launchQemu's command with the first NIC made legacy-only
   * and the others added after it). removeNetns stops the dnsmasqs with the namespace.
   */
  private async startLinks(links: readonly GuestLink[], smbiosSerial?: string): Promise<void> {
    await createNetns({ name: this.netns, dir: this.dir, hostCidr: links[0].hostCidr });
    const argv = qemuCommand({
      ...this.files,
      netns: this.netns,
      net: { kind: "tap", mac: this.mac },
      smbiosSerial,
    } satisfies QemuOptions).map((a) =>
      a.startsWith("virtio-net-pci,") ? `${a},disable-modern=on` : a,
    );
    for (const [i, link] of links.entries()) {
      const tap = `tap${i}`;
      if (i > 0) {
        await this.exec(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
        await this.exec(["ip", "addr", "add", link.hostCidr, "dev", tap]);
        await this.exec(["ip", "link", "set", tap, "up"]);
        argv.push("-netdev", `tap,id=n${i},ifname=${tap},script=no,downscript=no`);
        argv.push(
          "-device",
          `virtio-net-pci,netdev=n${i},mac=${this.linkMac(i)},romfile=,disable-modern=on`,
        );
      }
      if (link.dnsmasq) {
        const file = (ext: string) => path.join(this.dir, `dnsmasq-${tap}.${ext}`);
        await this.exec([
          "dnsmasq",
          "--conf-file=/dev/null",
          `--interface=${tap}`,
          "--bind-interfaces",
          "--port=0",
          "--user=root",
          "--log-dhcp",
          `--log-facility=${file("log")}`,
          `--dhcp-leasefile=${file("leases")}`,
          `--pid-file=${file("pid")}`,
          ...link.dnsmasq.map((a) => a.replace("{mac}", this.linkMac(i))),
        ]);
      }
    }
    const [file, ...args] = argv;
    await execFileAsync(file, args, { timeout: 30_000 });
    if (!isQemuRunning(this.files.pidFile)) throw new Error("QEMU started but is not running");
  }

  get lease(): DhcpLease {
    return { mac: this.mac, address: DHCP_ADDRESS, leaseSeconds: 120 };
  }

  startDhcp(): Promise<void> {
    return startDnsmasq({ name: this.netns, dir: this.dir, hostCidr: HOST_CIDR }, this.lease);
  }

  /** The first serial line matching `marker`; fails early if QEMU exits. */
  waitFor(marker: string | RegExp, timeoutMs = 30_000): Promise<string> {
    return waitForSerial(this.serialLog, marker, timeoutMs, this.files.pidFile);
  }

  serial(): string[] {
    return readSerial(this.serialLog);
  }

  /** Runs a command inside the namespace; resolves with its stdout, rejects on failure. */
  async exec(argv: string[]): Promise<string> {
    const [file, ...args] = netnsCommand(this.netns, argv);
    return (await execFileAsync(file, args, { timeout: 60_000 })).stdout;
  }

  /** Echo replies received for `count` pings of `size` bytes (ping may exit non-zero). */
  async ping(address: string, size = 56, count = 3, extra: string[] = []): Promise<number> {
    const pace = extra.includes("-f") ? [] : ["-i", "0.2"];
    const argv = [
      "ping",
      "-n",
      "-q",
      "-c",
      `${count}`,
      ...pace,
      "-W",
      "1",
      "-s",
      `${size}`,
      ...extra,
      address,
    ];
    let out: string;
    try {
      out = await this.exec(argv);
    } catch (e) {
      out = (e as { stdout?: string }).stdout ?? "";
    }
    const m = /(\d+) received/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  /** Pings until the first reply or `timeoutMs`; true if one came back. */
  async waitForEcho(address: string, timeoutMs = 20_000): Promise<boolean> {
    for (const end = Date.now() + timeoutMs; Date.now() < end;)
      if ((await this.ping(address, 56, 1)) === 1) return true;
    return false;
  }

  async stop(): Promise<void> {
    live.delete(this);
    await stopQemu(this.files);
    await removeNetns({ name: this.netns, dir: this.dir });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function stopAllGuests(): Promise<void> {
  for (const g of [...live]) await g.stop();
}

/** Starts a guest, runs `body`, always stops the guest; a failure shows the serial log. */
export async function withGuest(
  boot: BootSoftware,
  options: GuestOptions,
  body: (g: TestGuest) => Promise<void>,
): Promise<void> {
  const g = await TestGuest.start(boot, options);
  try {
    await body(g);
  } catch (e) {
    (e as Error).message += `\nserial log:\n${g.serial().join("\n")}`;
    throw e;
  } finally {
    await g.stop();
  }
}
