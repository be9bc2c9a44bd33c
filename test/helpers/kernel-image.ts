/**
 * Builds the kernel and writes a bootable raw disk: mbr.bin at LBA 0, kernel.bin from LBA 1, a
 * configuration block at LBA 40 (docs/boot-contract.md). A stand-in for image-builder/ that the
 * kernel tests and bench/kernel.ts use until that API exists.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** kernel/ of the repository, found from here both as source and as compiled (dist/…). */
export const kernelDir = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir))
    if (fs.existsSync(path.join(dir, "kernel", "Makefile"))) return path.join(dir, "kernel");
  throw new Error(`no kernel/Makefile above ${__dirname}`);
})();

const CONFIG_LBA = 40;
const SECTOR = 512;
const DISK_BYTES = 1 << 20; // SeaBIOS will not boot from a disk of a few sectors

export interface BootSoftware {
  readonly mbr: Buffer;
  readonly kernel: Buffer;
  /** build/boot-software.json */
  readonly info: { mbrBytes: number; kernelBytes: number; kernelSectors: number };
}

/** `make -C kernel` (quick when up to date) and the files it made. */
export function buildKernel(): BootSoftware {
  execFileSync("make", ["-s", "-C", kernelDir], { stdio: ["ignore", "ignore", "pipe"] });
  const build = path.join(kernelDir, "build");
  return {
    mbr: fs.readFileSync(path.join(build, "mbr.bin")),
    kernel: fs.readFileSync(path.join(build, "kernel.bin")),
    info: JSON.parse(fs.readFileSync(path.join(build, "boot-software.json"), "utf8")),
  };
}

/** A configuration block: header (magic, length, CRC-32, build id) and `payload`. */
export function configBlock(payload: string | Buffer, buildId: Buffer = Buffer.alloc(32)): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(48);
  header.write("EXOCFG01", 0, "ascii");
  header.writeUInt32LE(body.length, 8);
  header.writeUInt32LE(zlib.crc32(body), 12);
  buildId.copy(header, 16);
  return Buffer.concat([header, body]);
}

/** Writes the disk image to `file`; `block` (≤ 4096 bytes) goes to LBA 40 as it is. */
export function writeDisk(file: string, boot: BootSoftware, block: Buffer): void {
  const disk = Buffer.alloc(DISK_BYTES);
  boot.mbr.copy(disk, 0);
  boot.kernel.copy(disk, SECTOR);
  block.copy(disk, CONFIG_LBA * SECTOR);
  fs.writeFileSync(file, disk);
}
