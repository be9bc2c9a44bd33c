/**
 * The emulated node's network: one Linux bridge (PVE's `vmbr0`) inside a network namespace the
 * emulator makes, the host end's address on it, dnsmasq serving DHCP on that bridge only, and
 * one tap device per started VM, named as PVE names them (`tap<vmid>i<n>`, qemu-server
 * `src/PVE/QemuServer/Network.pm`) and enslaved to the bridge. QEMU runs inside the namespace
 * and opens the tap by name. Nothing here touches the host's own interfaces; everything is
 * removed by {@link removeBridgeNetwork}. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
 */
import * as fs from "node:fs";
import {
  dhcpServerCommand,
  dnsmasqFiles,
  prefixToMask,
  removeNetns,
  run,
} from "../../../infra/targets/local/netns";

export interface BridgeNetworkOptions {
  /** Namespace to create (must not exist yet): `exo-pve-<hex>`. */
  readonly netns: string;
  /** The bridge VMs may name in `net0: virtio,bridge=…`; default `vmbr0`. */
  readonly bridge?: string;
  /** The host end's address on the bridge, with prefix; the guests' gateway. Default `10.0.2.2/24`. */
  readonly hostCidr?: string;
  /** DHCP pool on the bridge (dnsmasq); default `10.0.2.100`–`10.0.2.199`. */
  readonly dhcpRange?: readonly [string, string];
  /** Directory for dnsmasq's pid, lease and log files. */
  readonly dir: string;
}

export interface BridgeNetwork {
  readonly netns: string;
  readonly bridge: string;
  readonly hostCidr: string;
  readonly dir: string;
  /** dnsmasq's lease file: `<expiry> <mac> <ip> <hostname> <client-id>` lines. */
  readonly leaseFile: string;
}

const ip = (netns: string, ...args: string[]) => run(["ip", "-n", netns, ...args]);

/** Namespace, bridge with the host address, dnsmasq on the bridge. Undone on failure. */
export async function createBridgeNetwork(o: BridgeNetworkOptions): Promise<BridgeNetwork> {
  const net: BridgeNetwork = {
    netns: o.netns,
    bridge: o.bridge ?? "vmbr0",
    hostCidr: o.hostCidr ?? "10.0.2.2/24",
    dir: o.dir,
    leaseFile: dnsmasqFiles(o.dir).leaseFile,
  };
  const [start, end] = o.dhcpRange ?? ["10.0.2.100", "10.0.2.199"];
  fs.mkdirSync(o.dir, { recursive: true });
  try {
    await run(["ip", "netns", "add", net.netns]);
    await ip(net.netns, "link", "set", "lo", "up");
    await ip(net.netns, "link", "add", net.bridge, "type", "bridge");
    await ip(net.netns, "addr", "add", net.hostCidr, "dev", net.bridge);
    await ip(net.netns, "link", "set", net.bridge, "up");
    const prefix = Number(net.hostCidr.split("/")[1]);
    await run(
      dhcpServerCommand(
        { name: net.netns, dir: o.dir, hostCidr: net.hostCidr, iface: net.bridge },
        [`--dhcp-range=${start},${end},${prefixToMask(prefix)},120`],
      ),
    );
    return net;
  } catch (e) {
    await removeBridgeNetwork(net);
    throw e;
  }
}

/** The tap of `vmid`'s `net<n>`, enslaved to the bridge and up: PVE's `tap<vmid>i<n>`. */
export async function addTap(net: BridgeNetwork, vmid: number, n = 0): Promise<string> {
  const tap = `tap${vmid}i${n}`;
  await removeTap(net, tap);
  await ip(net.netns, "tuntap", "add", "dev", tap, "mode", "tap");
  await ip(net.netns, "link", "set", tap, "master", net.bridge);
  await ip(net.netns, "link", "set", tap, "up");
  return tap;
}

export async function removeTap(net: BridgeNetwork, tap: string): Promise<void> {
  const links = await ip(net.netns, "-o", "link", "show");
  if (links.includes(` ${tap}:`) || links.includes(` ${tap}@`))
    await ip(net.netns, "link", "del", tap);
}

/** The address dnsmasq leased to `mac`, if any. */
export function leasedAddress(net: BridgeNetwork, mac: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(net.leaseFile, "utf8");
  } catch {
    return undefined;
  }
  const line = text
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[1]?.toLowerCase() === mac.toLowerCase());
  return line?.[2];
}

/**
 * Stops dnsmasq, kills what still runs in the namespace and deletes it; safe to repeat. The
 * dnsmasq files are netns.ts's own (dnsmasqFiles), so its removeNetns stops ours.
 */
export async function removeBridgeNetwork(net: Pick<BridgeNetwork, "netns" | "dir">) {
  await removeNetns({ name: net.netns, dir: net.dir });
}
