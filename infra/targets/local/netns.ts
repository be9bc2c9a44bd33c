/**
 * A private network for one guest: a network namespace holding a tap device (the host end of
 * the guest's link, with an address) and, optionally, dnsmasq serving DHCP on that tap only.
 * Nothing here touches the host's own interfaces. Every step is idempotent and everything made
 * is removed by {@link removeNetns}. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
 *
 * Used by the local stack (instance.ts), the kernel tests and the kernel benchmark.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { scrubbedEnv } from "../../../lib/child-env";
import { formatIpv4, prefixToMask as prefixBits } from "../../../lib/ipv4";
import { pidOfWriter } from "./pidfile";

const execFileAsync = promisify(execFile);

/** The tap device inside every namespace made here; QEMU attaches to it. */
export const TAP_DEVICE = "tap0";

/** DHCP for exactly one guest: its MAC always gets `address`. */
export interface DhcpLease {
  readonly mac: string;
  readonly address: string;
  /** Lease time; default 3600. dnsmasq's minimum is 120. */
  readonly leaseSeconds?: number;
}

export interface NetnsOptions {
  /** Namespace name, e.g. `exo-t-1a2b3c`; unique per guest. */
  readonly name: string;
  /** Directory for dnsmasq's pid, lease and log files (created if missing). */
  readonly dir: string;
  /** Address of the host end on the tap, with prefix: `10.0.2.1/24`; also the guest's gateway. */
  readonly hostCidr: string;
  /** Start dnsmasq at once; or later with {@link startDnsmasq}. */
  readonly dhcp?: DhcpLease;
}

/** `ip netns exec <name> …argv`. Pure. */
export function netnsCommand(name: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", name, ...argv];
}

/** Runs a command (program first); resolves with its stdout, or fails with its stderr. */
export async function run(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  try {
    return (await execFileAsync(file, args, { timeout: 30_000, env: scrubbedEnv() })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(" ")}: ${(err.stderr || err.message).trim()}`);
  }
}

function netnsExists(name: string): boolean {
  return fs.existsSync(path.join("/run/netns", name));
}

/** Creates (or completes) the namespace with its tap device and address; then DHCP if asked. */
export async function createNetns(o: NetnsOptions): Promise<void> {
  fs.mkdirSync(o.dir, { recursive: true });
  if (!netnsExists(o.name)) await run(["ip", "netns", "add", o.name]);
  await run(["ip", "-n", o.name, "link", "set", "lo", "up"]);
  const links = await run(["ip", "-n", o.name, "-o", "link", "show"]);
  if (!links.includes(` ${TAP_DEVICE}:`))
    await run(["ip", "-n", o.name, "tuntap", "add", "dev", TAP_DEVICE, "mode", "tap"]);
  await run(["ip", "-n", o.name, "addr", "replace", o.hostCidr, "dev", TAP_DEVICE]);
  await run(["ip", "-n", o.name, "link", "set", TAP_DEVICE, "up"]);
  if (o.dhcp) await startDnsmasq(o, o.dhcp);
}

/** Files of a namespace's dnsmasq, in its `dir`. */
export function dnsmasqFiles(dir: string) {
  return {
    pidFile: path.join(dir, "dnsmasq.pid"),
    leaseFile: path.join(dir, "dnsmasq.leases"),
    logFile: path.join(dir, "dnsmasq.log"),
  };
}

/** The dnsmasq command serving `lease` on the tap of `o.name`, and nothing else. Pure. */
export function dnsmasqCommand(
  o: Pick<NetnsOptions, "name" | "dir" | "hostCidr">,
  lease: DhcpLease,
): string[] {
  const prefix = Number(o.hostCidr.split("/")[1]);
  return dhcpServerCommand({ ...o, iface: TAP_DEVICE }, [
    `--dhcp-range=${lease.address},static,${prefixToMask(prefix)},${lease.leaseSeconds ?? 3600}`,
    `--dhcp-host=${lease.mac},${lease.address}`,
  ]);
}

/**
 * dnsmasq as DHCP server on `iface` of namespace `name` only, the host end (`hostCidr`) as
 * router, its files in `dir`; `dhcp` gives the ranges and hosts. Pure. Also used by the
 * Proxmox emulator's bridge (a pool for every VM).
 */
export function dhcpServerCommand(
  o: Pick<NetnsOptions, "name" | "dir" | "hostCidr"> & { readonly iface: string },
  dhcp: readonly string[],
): string[] {
  const files = dnsmasqFiles(o.dir);
  const [gateway] = o.hostCidr.split("/");
  return netnsCommand(o.name, [
    "dnsmasq",
    "--conf-file=/dev/null", // not the host's configuration
    `--interface=${o.iface}`,
    "--bind-interfaces",
    "--port=0", // no DNS
    "--no-resolv",
    "--no-hosts",
    "--user=root", // keeps writing the lease file in a root-owned dir
    ...dhcp,
    `--dhcp-option=option:router,${gateway}`,
    "--dhcp-authoritative",
    "--log-dhcp",
    `--log-facility=${files.logFile}`,
    `--dhcp-leasefile=${files.leaseFile}`,
    `--pid-file=${files.pidFile}`,
  ]);
}

/** Starts dnsmasq (it daemonizes; returns once it serves); a running one is left alone. */
export async function startDnsmasq(
  o: Pick<NetnsOptions, "name" | "dir" | "hostCidr">,
  lease: DhcpLease,
): Promise<void> {
  if (dnsmasqPid(o.dir) !== undefined) return;
  await run(dnsmasqCommand(o, lease));
}

/** The pid of the namespace's dnsmasq if it is alive and is the one that wrote the pidfile. */
function dnsmasqPid(dir: string): number | undefined {
  const { pidFile } = dnsmasqFiles(dir);
  return pidOfWriter(pidFile, `--pid-file=${pidFile}`);
}

async function stopDnsmasq(dir: string): Promise<void> {
  const pid = dnsmasqPid(dir);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && dnsmasqPid(dir) !== undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    if (dnsmasqPid(dir) !== undefined) process.kill(pid, "SIGKILL");
  }
  fs.rmSync(dnsmasqFiles(dir).pidFile, { force: true });
}

/**
 * Stops dnsmasq, kills whatever still runs inside the namespace (it is ours alone) and deletes
 * it, which also deletes the tap device. Safe to repeat.
 */
export async function removeNetns(o: Pick<NetnsOptions, "name" | "dir">): Promise<void> {
  await stopDnsmasq(o.dir);
  if (!netnsExists(o.name)) return;
  const pids = (await run(["ip", "netns", "pids", o.name]))
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await run(["ip", "netns", "del", o.name]);
}

/** 24 → "255.255.255.0". Pure. */
export function prefixToMask(prefix: number): string {
  return formatIpv4(prefixBits(prefix));
}
