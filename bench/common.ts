/** What the benchmarks share: one boot's namespace and files, the median, serial timing. */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeNetns } from "../infra/local/netns";
import { readSerial, stopQemu } from "../infra/local/qemu";

/** A fresh namespace name, a temp dir and QEMU's file names for one boot of `disk`. */
export function benchBoot(disk: string) {
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
export async function endBenchBoot(b: ReturnType<typeof benchBoot>): Promise<void> {
  await stopQemu(b.files);
  await removeNetns({ name: b.netns, dir: b.dir });
  fs.rmSync(b.dir, { recursive: true, force: true });
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Epoch ms when `marker` first appears in the serial log (polled every ms), until `until`. */
export async function serialMarkerTime(
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
