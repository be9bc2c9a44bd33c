/**
 * What the benchmarks share: one timed boot of a disk in a fresh network namespace (the guest
 * on GUEST, configured statically through SMBIOS), the median, the summary of several boots.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createNetns, removeNetns } from "../infra/targets/local/netns";
import { launchQemu, readSerial, stopQemu } from "../infra/targets/local/qemu";

export const BOOTS = 5;
export const GUEST = "10.0.2.15";
export const HOST_CIDR = "10.0.2.2/24";
export const TIMEOUT_MS = 20_000;

/** A fresh namespace name, a temp dir and QEMU's file names for one boot of `disk`. */
function benchBoot(disk: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exo-bench-"));
  return {
    netns: `exo-bench-${randomBytes(4).toString("hex")}`,
    dir,
    files: {
      disk,
      pidFile: path.join(dir, "qemu.pid"),
      qmpSocket: path.join(dir, "qmp.sock"),
      serialLog: path.join(dir, "serial.log"),
    },
  };
}

/** Stops the boot's QEMU, removes its namespace and temp dir. */
async function endBenchBoot(b: ReturnType<typeof benchBoot>): Promise<void> {
  await stopQemu(b.files);
  await removeNetns({ name: b.netns, dir: b.dir });
  fs.rmSync(b.dir, { recursive: true, force: true });
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Epoch ms when `marker` first appears in the serial log (polled every ms), until `until`. */
async function serialMarkerTime(
  serialLog: string,
  marker: string,
  until: Promise<unknown>,
): Promise<number | undefined> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    if (readSerial(serialLog).some((l) => l.startsWith(marker))) return Date.now();
    await new Promise((r) => setTimeout(r, 1));
  }
  return undefined;
}

/** Something started in the namespace before QEMU: `at` is the epoch ms of what is timed. */
export interface Probe {
  readonly at: Promise<number>;
  stop(): void;
}

/** How long one boot took to the probed event: from QEMU's start and (roughly) from the MBR. */
export interface BootTime {
  readonly ms: number;
  readonly mbrToMs?: number;
}

/**
 * Boots `disk` once in a fresh namespace: `probe` starts there first, then QEMU; resolves when
 * the probe fires (within TIMEOUT_MS), after `after` has run in the namespace (it also gets
 * QEMU's pid). Cleans up.
 */
export async function timedBoot<T>(
  disk: string,
  o: { mac: string; memoryMb?: number; what: string },
  probe: (netns: string) => Probe,
  after?: (netns: string, qemuPid: number) => Promise<T>,
): Promise<BootTime & { after?: T }> {
  const b = benchBoot(disk);
  const { netns, dir, files } = b;
  let p: Probe | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await createNetns({ name: netns, dir, hostCidr: HOST_CIDR });
    p = probe(netns);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no ${o.what} within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
    });
    const startedAt = Date.now();
    const launched = launchQemu({
      ...files,
      netns,
      memoryMb: o.memoryMb,
      net: { kind: "tap", mac: o.mac },
      smbiosSerial: `exo:net=static;ip=${GUEST}/24;gw=${HOST_CIDR.split("/")[0]}`,
    });
    const at = Promise.race([p.at, timeout]);
    const mbrAt = serialMarkerTime(files.serialLog, "exo: mbr", at);
    const { pid } = await launched;
    const event = await at;
    const mbr = await mbrAt;
    return {
      ms: event - startedAt,
      mbrToMs: mbr === undefined ? undefined : event - mbr,
      after: after ? await after(netns, pid) : undefined,
    };
  } finally {
    clearTimeout(timer);
    p?.stop();
    await endBenchBoot(b);
  }
}

/** `boot <i>: <what> <ms> ms after QEMU started, ~<ms> ms after the MBR ran`. */
export function bootLine(label: string, i: number, what: string, t: BootTime): string {
  const mbr = t.mbrToMs === undefined ? "" : `, ~${t.mbrToMs.toFixed(1)} ms after the MBR ran`;
  return `${label} ${i + 1}: ${what} ${t.ms.toFixed(1)} ms after QEMU started${mbr}`;
}

/** Median from QEMU's start, median from the MBR (null if never seen), every run. */
export function summarize(runs: readonly BootTime[]): [number, number | null, number[]] {
  const mbrTimes = runs.flatMap((r) => (r.mbrToMs === undefined ? [] : [r.mbrToMs]));
  return [
    Math.round(median(runs.map((r) => r.ms))),
    mbrTimes.length ? Math.round(median(mbrTimes)) : null,
    runs.map((r) => Math.round(r.ms)),
  ];
}
