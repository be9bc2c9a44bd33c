/**
 * The raw disk (docs/boot-contract.md, "Disk layout"; docs/image-format.md says why 2 MiB):
 *
 *   LBA 0            mbr.bin's code, our partition table, 55 AA
 *   LBA 1 … S        kernel.bin
 *   LBA 40 … 47      configuration block, its build id set to the image id
 *   LBA 2048 … 4095  partition 1 (type 0xDA, active): reserved, zeros
 */
import { createHash } from "node:crypto";
import { BUILD_ID_BYTES, BUILD_ID_OFFSET_IN_BLOCK, CONFIG_BLOCK_BYTES } from "./config-block";

export const SECTOR_BYTES = 512;
export const DISK_BYTES = 2 * 1024 * 1024;
export const CONFIG_LBA = 40;
export const KERNEL_MAX_SECTORS = 32;
export const PARTITION_FIRST_LBA = 2048;
export const PARTITION_TYPE = 0xda; // "non-FS data"
export const PARTITION_TABLE_OFFSET = 446;
export const BOOT_SIGNATURE_OFFSET = 510;
/** Byte offset of the build id on the disk: zero it to get the image id's canonical form. */
export const BUILD_ID_DISK_OFFSET = CONFIG_LBA * SECTOR_BYTES + BUILD_ID_OFFSET_IN_BLOCK;

/** The kernel build's output, already checked against the contract. */
export interface BootSoftware {
  /** 512 bytes: code in 0–445, zeros in 446–509, 55 AA. */
  readonly mbr: Buffer;
  /** kernel.bin, a whole number of sectors (at most 32). */
  readonly kernel: Buffer;
}

/**
 * CHS address of an LBA as partition tables store it (head, sector | cylinder high bits,
 * cylinder low byte), with the 255-head, 63-sector geometry every current tool assumes.
 * Beyond cylinder 1023 CHS cannot say it, and the convention is 1023/254/63.
 */
function chs(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (255 * 63));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / 63) % 255;
  const sector = (lba % 63) + 1;
  return [head, sector | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

/** The 64-byte MBR partition table: entry 1 is the reserved partition, entries 2–4 empty. */
export function partitionTable(diskSectors: number): Buffer {
  const table = Buffer.alloc(64);
  const last = diskSectors - 1;
  table[0] = 0x80; // active
  table.set(chs(PARTITION_FIRST_LBA), 1);
  table[4] = PARTITION_TYPE;
  table.set(chs(last), 5);
  table.writeUInt32LE(PARTITION_FIRST_LBA, 8);
  table.writeUInt32LE(diskSectors - PARTITION_FIRST_LBA, 12);
  return table;
}

/** SHA-256 of the disk with the build id zeroed: the image id (docs/boot-contract.md). */
export function imageIdOf(raw: Buffer): string {
  return createHash("sha256")
    .update(raw.subarray(0, BUILD_ID_DISK_OFFSET))
    .update(Buffer.alloc(BUILD_ID_BYTES))
    .update(raw.subarray(BUILD_ID_DISK_OFFSET + BUILD_ID_BYTES))
    .digest("hex");
}

/** Lays out the disk, then computes the image id and writes it into the build id field. */
export function assembleRawDisk(
  boot: BootSoftware,
  configBlock: Buffer,
): { raw: Buffer; imageId: string } {
  if (configBlock.length !== CONFIG_BLOCK_BYTES)
    throw new RangeError("config block must be 4096 bytes");
  const raw = Buffer.alloc(DISK_BYTES);
  boot.mbr.copy(raw, 0, 0, PARTITION_TABLE_OFFSET);
  partitionTable(DISK_BYTES / SECTOR_BYTES).copy(raw, PARTITION_TABLE_OFFSET);
  boot.mbr.copy(raw, BOOT_SIGNATURE_OFFSET, BOOT_SIGNATURE_OFFSET, SECTOR_BYTES);
  boot.kernel.copy(raw, SECTOR_BYTES);
  configBlock.copy(raw, CONFIG_LBA * SECTOR_BYTES);
  const imageId = imageIdOf(raw);
  raw.write(imageId, BUILD_ID_DISK_OFFSET, "hex");
  return { raw, imageId };
}
