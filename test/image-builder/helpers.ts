/**
 * Shared test fixtures: temp directories, a fake kernel directory that honours the boot
 * contract (so most tests need neither nasm nor the real kernel), and qemu-img.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function tempDir(prefix = "exoform-image-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface FixtureKernelOptions {
  /** Recipe of the Makefile's `all` target (default: nothing to do). */
  readonly makeRecipe?: string;
  readonly mbr?: Buffer;
  readonly kernelSectors?: number;
  /** Fields merged over a contract-conforming boot-software.json. */
  readonly info?: Record<string, unknown>;
}

/** A recognisable 512-byte MBR: code bytes 0x90 ("nop") in 0–445, zeros, 55 AA. */
export function fixtureMbr(): Buffer {
  const mbr = Buffer.alloc(512);
  mbr.fill(0x90, 0, 446);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** A kernel directory whose `make` succeeds (or runs `makeRecipe`) and whose build/ is ready. */
export function fixtureKernelDir(opts: FixtureKernelOptions = {}): string {
  const dir = tempDir("exoform-kernel-");
  const sectors = opts.kernelSectors ?? 3;
  const kernel = Buffer.alloc(sectors * 512);
  for (let i = 0; i < kernel.length - 100; i++) kernel[i] = (i * 7 + 1) & 0xff;
  fs.writeFileSync(path.join(dir, "Makefile"), `all:\n\t${opts.makeRecipe ?? "@true"}\n`);
  fs.mkdirSync(path.join(dir, "build"));
  fs.writeFileSync(path.join(dir, "build", "mbr.bin"), opts.mbr ?? fixtureMbr());
  fs.writeFileSync(path.join(dir, "build", "kernel.bin"), kernel);
  const info = {
    mbrBytes: 512,
    kernelBytes: kernel.length - 100,
    kernelSectors: sectors,
    configLba: 40,
    configMaxBytes: 4096,
    sourceHash: "ab".repeat(32),
    ...opts.info,
  };
  fs.writeFileSync(path.join(dir, "build", "boot-software.json"), JSON.stringify(info));
  return dir;
}

/** Runs qemu-img; returns stdout, throws with stderr when it fails. */
export function qemuImg(...args: string[]): string {
  return execFileSync("qemu-img", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
