/**
 * QEMU for exoform images: build the command line, start QEMU as a background process (pidfile,
 * QMP socket and serial log in files the caller names), wait for a serial marker, stop it.
 *
 * QEMU daemonizes itself, so a VM outlives the Node process that started it (the local Pulumi
 * stack needs that); everything needed to find and stop it again is in the files. Used by the
 * local stack (instance.ts), the kernel tests and the kernel benchmark.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { promisify } from "node:util";
import { scrubbedEnv } from "../../../lib/child-env";
import { netnsCommand, TAP_DEVICE } from "./netns";
import { readConsoleLines as readSerial } from "../../../lib/console";
import { pidOfWriter } from "./pidfile";

const execFileAsync = promisify(execFile);

/** The guest NIC on a tap device (inside `netns` when given) of the host. */
export interface TapNet {
  readonly kind: "tap";
  /** The guest's MAC, `52:54:00:xx:xx:xx`. */
  readonly mac: string;
  /** Tap device to attach to; default {@link TAP_DEVICE}. */
  readonly ifname?: string;
}

/** The guest NIC on QEMU user-mode networking, with one TCP port forwarded from 127.0.0.1. */
export interface UserNet {
  readonly kind: "user";
  readonly mac: string;
  readonly hostPort: number;
  readonly guestPort: number;
}

export interface QemuOptions {
  /** Raw disk image (boot software at LBA 0). QEMU writes nothing to it. */
  readonly disk: string;
  /** Files QEMU creates: its pid, its QMP socket, everything the guest writes to COM1. */
  readonly pidFile: string;
  readonly qmpSocket: string;
  readonly serialLog: string;
  /** Default "tcg": this host's KVM is a broken nested one. */
  readonly accel?: "tcg" | "kvm";
  /** Guest RAM in MiB; default 4, what the kernel is made for. */
  readonly memoryMb?: number;
  /** Run QEMU inside this network namespace (made by netns.ts). */
  readonly netns?: string;
  readonly net: TapNet | UserNet;
  /** Offer only the virtio 1.0 (modern) interface, as a PCIe device would. */
  readonly modernVirtioOnly?: boolean;
  /** SMBIOS type 1 serial number: the kernel reads `exo:` network settings from it. */
  readonly smbiosSerial?: string;
  /** Further options, appended as given (the Proxmox emulator's `-boot menu=on,…`). */
  readonly extraArgs?: readonly string[];
}

/** A TCP port on 127.0.0.1 that is free right now: the host side of a {@link UserNet}. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** QEMU's option syntax: a literal comma inside a value is written twice. */
function optionValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/** The full command (program first), including `ip netns exec` when `netns` is set. Pure. */
export function qemuCommand(o: QemuOptions): string[] {
  const nic = o.net;
  const netdev =
    nic.kind === "tap"
      ? `tap,id=n0,ifname=${nic.ifname ?? TAP_DEVICE},script=no,downscript=no`
      : `user,id=n0,hostfwd=tcp:127.0.0.1:${nic.hostPort}-:${nic.guestPort}`;
  // romfile= drops iPXE's option ROM: the kernel has its own driver, and SeaBIOS boots faster.
  const device = [`virtio-net-pci,netdev=n0,mac=${nic.mac},romfile=`];
  if (o.modernVirtioOnly) device.push("disable-legacy=on,disable-modern=off");
  const argv = [
    "qemu-system-x86_64",
    ...["-accel", o.accel ?? "tcg", "-m", `${o.memoryMb ?? 4}M`],
    ...["-nodefaults", "-display", "none", "-no-reboot", "-daemonize"],
    ...["-pidfile", o.pidFile, "-qmp", `unix:${optionValue(o.qmpSocket)},server=on,wait=off`],
    ...["-serial", `file:${optionValue(o.serialLog)}`],
    ...["-drive", `file=${optionValue(o.disk)},format=raw,if=virtio,readonly=on`],
    ...["-netdev", netdev, "-device", device.join(",")],
  ];
  if (o.smbiosSerial !== undefined)
    argv.push("-smbios", `type=1,serial=${optionValue(o.smbiosSerial)}`);
  if (o.extraArgs) argv.push(...o.extraArgs);
  return o.netns ? netnsCommand(o.netns, argv) : argv;
}

/** Starts QEMU in the background; resolves once it runs (pidfile written) with its pid. */
export async function launchQemu(o: QemuOptions): Promise<{ pid: number }> {
  fs.rmSync(o.pidFile, { force: true });
  fs.rmSync(o.serialLog, { force: true });
  const [file, ...args] = qemuCommand(o);
  try {
    // SIGKILL at the timeout: a QEMU stopped before it daemonized would never act on SIGTERM.
    await execFileAsync(file, args, { timeout: 30_000, killSignal: "SIGKILL", env: scrubbedEnv() });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`QEMU did not start: ${(err.stderr || err.message).trim()}`);
  }
  const pid = runningPid(o.pidFile);
  if (pid === undefined) throw new Error(`QEMU started but is not running (pidfile ${o.pidFile})`);
  return { pid };
}

/**
 * The pid in `pidFile` if that process is alive and is the QEMU that wrote it; without the
 * pidfile, `knownPid` if that process is that QEMU (pidfile.ts).
 */
function runningPid(pidFile: string, knownPid?: number): number | undefined {
  // QEMU's own command line names the pidfile (`-pidfile <path>`).
  return pidOfWriter(pidFile, pidFile, knownPid);
}

/** Whether the QEMU of `pidFile` (or, its pidfile gone, the known pid) still runs. */
export function isQemuRunning(pidFile: string, knownPid?: number): boolean {
  return runningPid(pidFile, knownPid) !== undefined;
}

/**
 * Asks QEMU to quit over QMP; resolves when QEMU closes the connection (true) or after `ms`, or
 * on a socket error (false). QEMU's replies are read and dropped: a paused socket would never
 * see the close.
 */
function qmpQuit(socket: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.createConnection(socket);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    conn.on("error", () => done(false));
    conn.on("data", () => undefined);
    conn.on("connect", () => conn.write('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'));
    conn.on("close", () => done(true));
  });
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

/**
 * Stops the QEMU of `pidFile` and removes its files; safe to repeat. QMP `quit` first (the
 * guest has no ACPI shutdown to wait for), then SIGTERM, then SIGKILL, each after a short wait.
 * A QEMU that has exited counts as stopped even while it is an unreaped zombie.
 */
export async function stopQemu(files: {
  pidFile: string;
  qmpSocket: string;
  /** The pid the caller knows (state), used when the pidfile is gone. */
  pid?: number;
}): Promise<void> {
  const pid = runningPid(files.pidFile, files.pid);
  if (pid !== undefined) {
    const stopped = () => runningPid(files.pidFile, pid) === undefined;
    await qmpQuit(files.qmpSocket, 500);
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (await waitUntil(stopped, 500)) break;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    await waitUntil(stopped, 2000);
  }
  fs.rmSync(files.pidFile, { force: true });
  fs.rmSync(files.qmpSocket, { force: true });
}

/**
 * Waits until a line of the serial log matches `marker` and returns that line. Fails after
 * `timeoutMs`, or as soon as the QEMU of `pidFile` (when given) has exited.
 */
export async function waitForSerial(
  serialLog: string,
  marker: string | RegExp,
  timeoutMs: number,
  pidFile?: string,
): Promise<string> {
  const matches = (line: string) =>
    typeof marker === "string" ? line.includes(marker) : marker.test(line);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const line = readSerial(serialLog).find(matches);
    if (line !== undefined) return line;
    if (pidFile && !isQemuRunning(pidFile))
      throw new Error(
        `QEMU exited before serial marker ${marker}; serial log:\n${readSerial(serialLog).join("\n")}`,
      );
    if (Date.now() > end)
      throw new Error(
        `no serial marker ${marker} after ${timeoutMs} ms; serial log:\n${readSerial(serialLog).join("\n")}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The serial log as lines, without CRs and terminal escapes; [] before it exists. */
export { readSerial };
