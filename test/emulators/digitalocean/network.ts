/**
 * The emulated region's network, made inside the network namespace the emulator runs in (the
 * test's own; the emulator refuses to touch the host's namespace):
 *
 * - `do-public`: a bridge with the "internet side" address {@link PUBLIC_GATEWAY}; every droplet's
 *   first NIC is a tap on it and gets its public IPv4 by DHCP, as custom-image droplets on DO do
 *   (DO limits page; kerla `Documentation/environments/digitalocean.md`).
 * - `do-vpc`: a second bridge for the VPC NICs, DHCP without a router (whether DO's VPC DHCP sends
 *   one is unverified: cloud-facts.md §2, so the guest must not rely on it).
 * - one dnsmasq per bridge, bound to that bridge only, serving fixed leases from a hosts dir
 *   (one file per droplet, picked up by inotify).
 * - nftables table `ip exoform_do`: reserved IPs (addresses on `lo`) DNAT'ed to the assigned
 *   droplet's public IPv4 (DO maps a reserved IP straight to it), and firewall inbound rules on
 *   `do-public`. The whole table is rewritten in one nft transaction, so a reassignment switches
 *   new connections at once.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { formatIpv4, parseIpv4 } from "../../../lib/ipv4";
import { pidOfWriter } from "../../../infra/targets/local/pidfile";
import type { Account, FirewallRule } from "./store";

const execFileAsync = promisify(execFile);

export const PUBLIC_BRIDGE = "do-public";
export const VPC_BRIDGE = "do-vpc";
/** Documentation ranges (RFC 5737) and a DO-like VPC range: nothing here is routable anyway. */
export const PUBLIC_GATEWAY = "203.0.113.1";
export const PUBLIC_PREFIX = 24;
export const VPC_GATEWAY = "10.110.0.1";
export const VPC_PREFIX = 20;
export const RESERVED_IP_BASE = "198.51.100.10";
const NFT_TABLE = "exoform_do";

interface BridgeSpec {
  readonly name: string;
  readonly gateway: string;
  readonly prefix: number;
  readonly router: boolean;
}

const BRIDGES: readonly BridgeSpec[] = [
  { name: PUBLIC_BRIDGE, gateway: PUBLIC_GATEWAY, prefix: PUBLIC_PREFIX, router: true },
  { name: VPC_BRIDGE, gateway: VPC_GATEWAY, prefix: VPC_PREFIX, router: false },
];

async function run(argv: readonly string[], input?: string): Promise<string> {
  const [file, ...args] = argv;
  try {
    const child = execFileAsync(file, args, { timeout: 30_000 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return (await child).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(" ")}: ${(err.stderr || err.message).trim()}`);
  }
}

/**
 * Refuses to run in the host's (pid 1's) network namespace: everything here creates bridges,
 * addresses and NAT rules, which belong only in a namespace a test made.
 */
export function assertOwnNamespace(): void {
  const own = fs.readlinkSync("/proc/self/ns/net");
  let host: string | undefined;
  try {
    host = fs.readlinkSync("/proc/1/ns/net");
  } catch {
    host = undefined; // not readable: we are not root in the host's view, so not in its netns either
  }
  if (own === host)
    throw new Error(
      "the DigitalOcean emulator makes bridges and NAT rules and runs only inside a network namespace of its own (run pulumi with `ip netns exec`)",
    );
}

function netDir(stateDir: string, bridge: string): string {
  return path.join(stateDir, "net", bridge);
}

function dnsmasqPidFile(stateDir: string, bridge: string): string {
  return path.join(netDir(stateDir, bridge), "dnsmasq.pid");
}

/** The dnsmasq command for one bridge: DHCP only, fixed leases from the hosts dir. Pure. */
export function dnsmasqCommand(stateDir: string, b: BridgeSpec): string[] {
  const dir = netDir(stateDir, b.name);
  const network = formatIpv4(parseIpv4(b.gateway) & (~0 << (32 - b.prefix)));
  const mask = formatIpv4((~0 << (32 - b.prefix)) >>> 0);
  return [
    "dnsmasq",
    "--conf-file=/dev/null",
    `--interface=${b.name}`,
    "--bind-interfaces", // with one interface: DHCP socket bound to it, so two instances coexist
    "--except-interface=lo",
    "--port=0",
    "--no-resolv",
    "--no-hosts",
    "--user=root",
    `--dhcp-range=${network},static,${mask},3600`,
    `--dhcp-hostsdir=${path.join(dir, "hosts")}`,
    b.router ? `--dhcp-option=option:router,${b.gateway}` : "--dhcp-option=option:router",
    "--dhcp-authoritative",
    "--log-dhcp",
    `--log-facility=${path.join(dir, "dnsmasq.log")}`,
    `--dhcp-leasefile=${path.join(dir, "dnsmasq.leases")}`,
    `--pid-file=${dnsmasqPidFile(stateDir, b.name)}`,
  ];
}

async function linkExists(name: string): Promise<boolean> {
  return (await run(["ip", "-o", "link", "show"])).includes(` ${name}:`);
}

/** Bridges, their addresses and dnsmasq; idempotent. */
export async function ensureNetwork(stateDir: string): Promise<void> {
  assertOwnNamespace();
  await run(["ip", "link", "set", "lo", "up"]);
  for (const b of BRIDGES) {
    fs.mkdirSync(path.join(netDir(stateDir, b.name), "hosts"), { recursive: true });
    if (!(await linkExists(b.name)))
      await run(["ip", "link", "add", "name", b.name, "type", "bridge"]);
    await run(["ip", "addr", "replace", `${b.gateway}/${b.prefix}`, "dev", b.name]);
    await run(["ip", "link", "set", b.name, "up"]);
    const pidFile = dnsmasqPidFile(stateDir, b.name);
    if (pidOfWriter(pidFile, `--pid-file=${pidFile}`) === undefined)
      await run(dnsmasqCommand(stateDir, b));
  }
}

/** Stops both dnsmasq and deletes the bridges, the NAT table and the reserved addresses. */
export async function removeNetwork(
  stateDir: string,
  reservedIps: readonly string[],
): Promise<void> {
  assertOwnNamespace();
  for (const b of BRIDGES) {
    const pidFile = dnsmasqPidFile(stateDir, b.name);
    const pid = pidOfWriter(pidFile, `--pid-file=${pidFile}`);
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100 && pidOfWriter(pidFile, `--pid-file=${pidFile}`) !== undefined; i++)
        await new Promise((r) => setTimeout(r, 20));
    }
    if (await linkExists(b.name)) await run(["ip", "link", "del", b.name]);
    fs.rmSync(netDir(stateDir, b.name), { recursive: true, force: true });
  }
  for (const ip of reservedIps) await removeReservedAddress(ip);
  await run(["nft", "-f", "-"], `table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n`);
}

/** Tells the bridge's dnsmasq that `mac` always gets `ip` (a file in its hosts dir). */
export function addLease(
  stateDir: string,
  bridge: string,
  dropletId: number,
  mac: string,
  ip: string,
): void {
  fs.writeFileSync(path.join(netDir(stateDir, bridge), "hosts", `${dropletId}`), `${mac},${ip}\n`);
}

export function removeLease(stateDir: string, bridge: string, dropletId: number): void {
  fs.rmSync(path.join(netDir(stateDir, bridge), "hosts", `${dropletId}`), { force: true });
}

/** A tap device for a droplet NIC, attached to `bridge`. */
export async function createTap(name: string, bridge: string): Promise<void> {
  if (!(await linkExists(name))) await run(["ip", "tuntap", "add", "dev", name, "mode", "tap"]);
  await run(["ip", "link", "set", name, "master", bridge]);
  await run(["ip", "link", "set", name, "up"]);
}

export async function deleteTap(name: string): Promise<void> {
  if (await linkExists(name)) await run(["ip", "link", "del", name]);
}

export async function addReservedAddress(ip: string): Promise<void> {
  assertOwnNamespace();
  await run(["ip", "addr", "replace", `${ip}/32`, "dev", "lo"]);
}

export async function removeReservedAddress(ip: string): Promise<void> {
  const addrs = await run(["ip", "-o", "addr", "show", "dev", "lo"]);
  if (addrs.includes(` ${ip}/32`)) await run(["ip", "addr", "del", `${ip}/32`, "dev", "lo"]);
}

/** The lowest address from `first` on that `taken` does not hold. Pure. */
export function nextFreeAddress(first: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = parseIpv4(first); ; n++) if (!used.has(formatIpv4(n))) return formatIpv4(n);
}

/**
 * The `counter`-th host address after `gateway` on its /`prefix` subnet, wrapping around and
 * skipping `taken`: successive droplets get fresh addresses. Pure.
 */
export function rotatingAddress(
  gateway: string,
  prefix: number,
  counter: number,
  taken: Iterable<string>,
): string {
  const used = new Set(taken);
  const hosts = 2 ** (32 - prefix) - 3; // minus network, gateway, broadcast
  const base = parseIpv4(gateway);
  for (let i = 0; i < hosts; i++) {
    const ip = formatIpv4(base + 1 + ((counter + i) % hosts));
    if (!used.has(ip)) return ip;
  }
  throw new Error("the emulated region has no free address left");
}

function ruleMatch(r: FirewallRule, a: Account): string[] {
  const proto = r.protocol.toLowerCase();
  const sources = [
    ...r.addresses,
    ...r.dropletIds.map((id) => a.droplets[id]?.publicIp).filter((x): x is string => !!x),
  ];
  const src =
    sources.length && !sources.includes("0.0.0.0/0") ? `ip saddr { ${sources.join(", ")} } ` : "";
  if (proto === "icmp") return [`${src}ip protocol icmp accept`];
  const ports =
    !r.portRange || r.portRange === "all" || r.portRange === "0" ? "" : ` dport ${r.portRange}`;
  return [`${src}${proto}${ports} accept`];
}

/**
 * The whole nftables table for the account: reserved-IP DNAT (output for traffic made in the
 * namespace, prerouting for the rest), SNAT of DNAT'ed traffic to the gateway so replies come
 * back whatever the guest's routes, and per droplet that any firewall names: its inbound rules,
 * everything else to it dropped (DO: a droplet in no firewall gets everything). Pure.
 */
export function nftRuleset(a: Account): string {
  const dnat = Object.values(a.reservedIps)
    .filter((r) => r.dropletId !== undefined && a.droplets[r.dropletId])
    .map((r) => `ip daddr ${r.ip} dnat to ${a.droplets[r.dropletId!].publicIp}`);
  const guarded = new Map<string, string[]>();
  for (const fw of Object.values(a.firewalls)) {
    for (const id of fw.dropletIds) {
      const d = a.droplets[id];
      if (!d) continue;
      const rules = guarded.get(d.publicIp) ?? [];
      for (const r of fw.inbound) rules.push(...ruleMatch(r, a));
      guarded.set(d.publicIp, rules);
    }
  }
  const filter: string[] = ["ct state established,related accept"];
  for (const [ip, rules] of guarded) {
    for (const r of rules) filter.push(`oifname "${PUBLIC_BRIDGE}" ip daddr ${ip} ${r}`);
    filter.push(`oifname "${PUBLIC_BRIDGE}" ip daddr ${ip} drop`);
  }
  const chain = (name: string, head: string, rules: string[]) =>
    `  chain ${name} {\n    ${head}\n${rules.map((r) => `    ${r}\n`).join("")}  }\n`;
  return (
    `table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\ntable ip ${NFT_TABLE} {\n` +
    chain("nat_output", "type nat hook output priority -100; policy accept;", dnat) +
    chain("nat_prerouting", "type nat hook prerouting priority -100; policy accept;", dnat) +
    chain("nat_postrouting", "type nat hook postrouting priority 100; policy accept;", [
      `oifname "${PUBLIC_BRIDGE}" ct status dnat snat to ${PUBLIC_GATEWAY}`,
    ]) +
    chain("fw_output", "type filter hook output priority 0; policy accept;", filter) +
    chain("fw_forward", "type filter hook forward priority 0; policy accept;", filter) +
    "}\n"
  );
}

/** Applies {@link nftRuleset} in one transaction. */
export async function applyRules(a: Account): Promise<void> {
  assertOwnNamespace();
  await run(["nft", "-f", "-"], nftRuleset(a));
}
