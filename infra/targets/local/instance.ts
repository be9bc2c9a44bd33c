/**
 * The local target's instance: the image booted by QEMU as a background process, with its
 * pidfile, QMP socket and serial log in a directory of its own, and its network:
 *
 * - netns: a namespace with a tap device and dnsmasq (DHCP) made for this instance; QEMU and
 *   the probes run inside it, so ICMP and HTTP both reach the guest, and nothing touches the
 *   host's own network.
 * - user: QEMU user-mode networking with the guest's HTTP port forwarded to a free port on
 *   127.0.0.1; ICMP cannot reach the guest and is reported as skipped.
 *
 * Called by the QemuVm provider stub (vm.ts); everything here must also work on the state of
 * older versions, since `delete` runs on whatever the state holds. Paths in inputs and state are
 * relative to the project directory (absolute ones, from older states, work too), so moving or
 * re-cloning the project keeps every instance reachable.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { formatIpv4, parseIpv4, prefixToMask } from "../../../lib/ipv4";
import { projectDirFor } from "../../project-modules";
import { freeLocalPort, isQemuRunning, launchQemu, QemuOptions, stopQemu } from "./qemu";
import { createNetns, removeNetns } from "./netns";

/** How the guest configures its address (the image's `network` setting). */
export type GuestNetwork =
  | { readonly mode: "dhcp" }
  | { readonly mode: "static"; readonly address: string; readonly gateway?: string };

export interface QemuVmInputs {
  /** `<stack>-<index>`: names the directory and namespace. */
  readonly instance: string;
  /** The stack's state directory (relative to the project); the instance gets `instances/<id>/` in it. */
  readonly stateDir: string;
  /**
   * The raw image (relative to the project), named by its id (image-builder): QEMU opens it
   * read-only, builds never rewrite it.
   */
  readonly imagePath: string;
  /** The image id: part of the inputs so that a new image replaces the VM. */
  readonly imageId: string;
  readonly accel: "tcg" | "kvm";
  readonly memoryMb?: number;
  readonly network: "netns" | "user";
  readonly guestNetwork: GuestNetwork;
  readonly httpPort: number;
}

export interface QemuVmState extends QemuVmInputs {
  /** `<instance>-<8 hex>`: unique, so a replacement can start before the old VM stops. */
  readonly id: string;
  readonly dir: string;
  readonly pidFile: string;
  readonly qmpSocket: string;
  readonly serialLog: string;
  readonly pid: number;
  readonly startedAtEpochMs: number;
  /** Milliseconds from the start of create (network set up, QEMU launched) to a running QEMU. */
  readonly createMs: number;
  /** Whether QEMU was alive when last observed (create or refresh). */
  readonly running: boolean;
  /** Base URL of the guest's HTTP server, reachable from `netns` (netns) or the host (user). */
  readonly httpUrl: string;
  readonly netns?: string;
  readonly pingAddress?: string;
  readonly icmpSkipReason?: string;
}

/** Inside every instance namespace: the host end of the link and the address DHCP hands out. */
export const NETNS_HOST_CIDR = "10.0.2.1/24";
export const NETNS_DHCP_ADDRESS = "10.0.2.15";
export const USER_NET_ICMP_SKIP_REASON =
  "QEMU user-mode networking forwards TCP ports only, ICMP cannot reach the guest";

/** A path of the inputs or state as an absolute path in the project as it is now. */
export function inProject(file: string): string {
  return path.resolve(projectDirFor("infra/targets/local/instance.js"), file);
}

export async function startInstance(inputs: QemuVmInputs): Promise<QemuVmState> {
  const began = Date.now();
  const id = `${inputs.instance}-${randomBytes(4).toString("hex")}`;
  const dir = path.join(inputs.stateDir, "instances", id);
  fs.mkdirSync(inProject(dir), { recursive: true });
  const files = {
    pidFile: path.join(dir, "qemu.pid"),
    qmpSocket: path.join(dir, "qmp.sock"),
    serialLog: path.join(dir, "serial.log"),
  };
  const mac = macFor(id);
  const netns = inputs.network === "netns" ? `exoform-${id}` : undefined;
  // No undefined values: the engine's protobuf Struct cannot carry them.
  const partial = {
    ...inputs,
    id,
    dir,
    ...files,
    ...(netns && { netns }),
    running: false,
    pid: 0,
    startedAtEpochMs: 0,
    createMs: 0,
  };
  try {
    const network = netns
      ? await prepareNetns(netns, inProject(dir), mac, inputs)
      : await prepareUserNet(mac, inputs);
    const { pid } = await launchQemu({
      pidFile: inProject(files.pidFile),
      qmpSocket: inProject(files.qmpSocket),
      serialLog: inProject(files.serialLog),
      disk: inProject(inputs.imagePath),
      accel: inputs.accel,
      memoryMb: inputs.memoryMb,
      ...network.launch,
    });
    // QEMU runs: creation ends and the instance's time (first ping, first 200) starts here, so
    // the phases add up without counting the launch twice.
    const startedAtEpochMs = Date.now();
    const createMs = startedAtEpochMs - began;
    return { ...partial, pid, startedAtEpochMs, createMs, running: true, ...network.reach };
  } catch (e) {
    // A failed create leaves no state behind, so nothing would ever delete what it made.
    await stopInstance(partial);
    throw e;
  }
}

/** How QEMU attaches the guest (`launch`), and how the guest is reached afterwards (`reach`). */
interface PreparedNetwork {
  readonly launch: Pick<QemuOptions, "netns" | "net">;
  readonly reach: Pick<QemuVmState, "httpUrl" | "pingAddress" | "icmpSkipReason">;
}

async function prepareNetns(
  netns: string,
  dir: string,
  mac: string,
  inputs: QemuVmInputs,
): Promise<PreparedNetwork> {
  const link = linkAddresses(inputs.guestNetwork);
  await createNetns({
    name: netns,
    dir,
    hostCidr: link.hostCidr,
    dhcp: { mac, address: link.guest },
  });
  return {
    launch: { netns, net: { kind: "tap", mac } },
    reach: { pingAddress: link.guest, httpUrl: baseUrl(link.guest, inputs.httpPort) },
  };
}

async function prepareUserNet(mac: string, inputs: QemuVmInputs): Promise<PreparedNetwork> {
  const hostPort = await freeLocalPort();
  return {
    launch: { net: { kind: "user", mac, hostPort, guestPort: inputs.httpPort } },
    reach: { icmpSkipReason: USER_NET_ICMP_SKIP_REASON, httpUrl: baseUrl("127.0.0.1", hostPort) },
  };
}

/** Refresh: the same state, with `running` telling whether QEMU is still alive. */
export function observeInstance(state: QemuVmState): QemuVmState {
  return { ...state, running: isQemuRunning(inProject(state.pidFile), state.pid) };
}

/** Why the VM must be replaced: changed inputs, or a QEMU that is no longer running. */
export function replacementReasons(olds: QemuVmState, news: QemuVmInputs): string[] {
  const changed: string[] = (Object.keys(news) as (keyof QemuVmInputs)[]).filter(
    (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
  );
  if (!olds.running || !isQemuRunning(inProject(olds.pidFile), olds.pid)) changed.push("running");
  return changed;
}

/** Stops QEMU and removes the namespace (with dnsmasq) and every file; safe to repeat. */
export async function stopInstance(
  state: Pick<QemuVmState, "dir" | "pidFile" | "qmpSocket" | "netns"> & { pid?: number },
) {
  const dir = inProject(state.dir);
  // The state's pid too: a fresh clone of the project has no pidfile, the QEMU still runs.
  await stopQemu({
    pidFile: inProject(state.pidFile),
    qmpSocket: inProject(state.qmpSocket),
    ...(state.pid && { pid: state.pid }),
  });
  if (state.netns) await removeNetns({ name: state.netns, dir });
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The guest's address and the host end of the tap link: DHCP gets the fixed lease
 * 10.0.2.15 from 10.0.2.1; a static guest gets its gateway (or the first other address of its
 * subnet) as the host end. Pure.
 */
export function linkAddresses(guest: GuestNetwork): { guest: string; hostCidr: string } {
  if (guest.mode === "dhcp") return { guest: NETNS_DHCP_ADDRESS, hostCidr: NETNS_HOST_CIDR };
  const [address, prefixText] = guest.address.split("/");
  const prefix = Number(prefixText);
  if (guest.gateway) return { guest: address, hostCidr: `${guest.gateway}/${prefix}` };
  const ip = parseIpv4(address);
  const network = (ip & prefixToMask(prefix)) >>> 0;
  const firstHost = network + 1;
  const host = firstHost === ip ? firstHost + 1 : firstHost;
  return { guest: address, hostCidr: `${formatIpv4(host)}/${prefix}` };
}

/** A stable MAC in QEMU's 52:54:00 range, derived from the instance id. Pure. */
export function macFor(id: string): string {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(id)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  const bytes = [0x52, 0x54, 0x00, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function baseUrl(host: string, port: number): string {
  return port === 80 ? `http://${host}` : `http://${host}:${port}`;
}
