/**
 * A droplet is a QEMU process (TCG by default: this host's KVM is a broken nested one) booting a
 * copy of the imported disk, with the hardware DO gives custom-image droplets: SeaBIOS, the disk
 * on legacy virtio-blk, two legacy virtio-net NICs (public first, then the VPC one) and no serial
 * port the user can see (kerla `Documentation/environments/digitalocean.md`; nanovms/ops#1009,
 * nanos#1461 for the NIC order). The emulator still logs COM1 to a file of its own for diagnosis.
 *
 * QEMU daemonizes, so a droplet outlives the plugin process; its pidfile and QMP socket in the
 * droplet's directory are how later processes find and stop it (infra/targets/local/qemu.ts).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { isQemuRunning, stopQemu } from "../../../infra/targets/local/qemu";
import type { DiskFormat } from "./images";

const execFileAsync = promisify(execFile);

/** Size slugs and prices as DO's /v2/sizes lists them (basic droplets). */
export const SIZES: Readonly<
  Record<
    string,
    { vcpus: number; memory: number; disk: number; priceMonthly: number; priceHourly: number }
  >
> = {
  "s-1vcpu-512mb-10gb": { vcpus: 1, memory: 512, disk: 10, priceMonthly: 4, priceHourly: 0.00595 },
  "s-1vcpu-1gb": { vcpus: 1, memory: 1024, disk: 25, priceMonthly: 6, priceHourly: 0.00893 },
  "s-1vcpu-2gb": { vcpus: 1, memory: 2048, disk: 50, priceMonthly: 12, priceHourly: 0.01786 },
  "s-2vcpu-2gb": { vcpus: 2, memory: 2048, disk: 60, priceMonthly: 18, priceHourly: 0.02679 },
  "s-2vcpu-4gb": { vcpus: 2, memory: 4096, disk: 80, priceMonthly: 24, priceHourly: 0.03571 },
};

/** Region slugs DO offers droplets in (/v2/regions). */
export const REGIONS = [
  "nyc1",
  "nyc2",
  "nyc3",
  "sfo2",
  "sfo3",
  "ams3",
  "sgp1",
  "lon1",
  "fra1",
  "tor1",
  "blr1",
  "syd1",
  "atl1",
] as const;

export interface DropletFiles {
  readonly disk: string;
  readonly pidFile: string;
  readonly qmpSocket: string;
  readonly serialLog: string;
}

export function dropletFiles(dir: string, format: DiskFormat): DropletFiles {
  return {
    disk: path.join(dir, `disk.${format}`),
    pidFile: path.join(dir, "qemu.pid"),
    qmpSocket: path.join(dir, "qmp.sock"),
    serialLog: path.join(dir, "serial.log"),
  };
}

export interface DropletVm {
  readonly files: DropletFiles;
  readonly format: DiskFormat;
  readonly memoryMb: number;
  readonly publicTap: string;
  readonly publicMac: string;
  readonly privateTap: string;
  readonly privateMac: string;
  readonly accel: "tcg" | "kvm";
}

/** QEMU's option syntax: a literal comma inside a value is written twice. */
function optionValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/** The QEMU command for a droplet. Pure. */
export function dropletQemuCommand(vm: DropletVm): string[] {
  const nic = (id: string, tap: string, mac: string) => [
    "-netdev",
    `tap,id=${id},ifname=${tap},script=no,downscript=no`,
    "-device",
    // Legacy-only virtio (as DO's); romfile= drops iPXE, SeaBIOS boots the disk sooner.
    `virtio-net-pci,netdev=${id},mac=${mac},disable-modern=on,romfile=`,
  ];
  return [
    "qemu-system-x86_64",
    ...["-accel", vm.accel, "-m", `${vm.memoryMb}M`],
    ...["-nodefaults", "-display", "none", "-daemonize"],
    ...[
      "-pidfile",
      vm.files.pidFile,
      "-qmp",
      `unix:${optionValue(vm.files.qmpSocket)},server=on,wait=off`,
    ],
    ...["-serial", `file:${optionValue(vm.files.serialLog)}`],
    ...["-drive", `file=${optionValue(vm.files.disk)},format=${vm.format},if=none,id=d0`],
    ...["-device", "virtio-blk-pci,drive=d0,disable-modern=on"],
    ...nic("pub", vm.publicTap, vm.publicMac),
    ...nic("vpc", vm.privateTap, vm.privateMac),
  ];
}

export async function startDroplet(vm: DropletVm): Promise<void> {
  const [file, ...args] = dropletQemuCommand(vm);
  try {
    await execFileAsync(file, args, { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`QEMU did not start: ${(err.stderr || err.message).trim()}`);
  }
  if (!isQemuRunning(vm.files.pidFile))
    throw new Error(`QEMU started but is not running (${vm.files.pidFile})`);
}

export function dropletRunning(dir: string): boolean {
  return isQemuRunning(path.join(dir, "qemu.pid"));
}

/** Stops the droplet's QEMU (the guest has no ACPI shutdown: QMP quit, then signals). */
export async function powerOff(dir: string): Promise<void> {
  await stopQemu({ pidFile: path.join(dir, "qemu.pid"), qmpSocket: path.join(dir, "qmp.sock") });
}

/** Stops the droplet and removes its directory (disk copy, logs). */
export async function stopDroplet(dir: string): Promise<void> {
  await powerOff(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}
