/**
 * Artefacts appear whole or not at all: each is written to a hidden temp file in the output
 * directory, flushed to disk, then renamed over its final name (atomic within one file system).
 * An interrupted build leaves only `.<name>.<pid>.<random>.tmp` files, which the next build
 * removes once their process is gone.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";

const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    const handle = await fs.open(temp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Removes temp files left by builds that died; a live build's temp files are left alone. */
export async function removeStaleTempFiles(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const match = TEMP_FILE.exec(name);
    if (match && processIsGone(Number(match[1])))
      await fs.rm(path.join(dir, name), { force: true });
  }
}
