/**
 * A streamOptimized VMDK of a raw disk, written in one pass (docs/image-format.md says why this
 * subformat). Layout, following VMware's "Virtual Disk Format 5.0" and what qemu's block/vmdk.c
 * reads:
 *
 *   sector 0          sparse extent header, gdOffset = GD_AT_END (the footer has the real one)
 *   sector 1 …        embedded descriptor, zero-padded
 *   sector 128 …      for each non-zero 64 KiB grain: marker {lba u64, size u32} + zlib data
 *   then              per grain table: GT marker, the table (512 entries × u32 = 4 sectors)
 *   then              GD marker, the grain directory
 *   EOF − 1536        footer marker, footer (the header again, gdOffset filled in), EOS marker
 *
 * All-zero grains are not stored (their table entry stays 0, which reads as zeros). Nothing here
 * depends on time or chance: CID and ddb.uuid come from the image id, zlib's level is fixed.
 */
import * as zlib from "node:zlib";
import { SECTOR_BYTES } from "./disk";
import { ZLIB_LEVEL } from "./gzip";

const GRAIN_SECTORS = 128; // 64 KiB grains, as VMware and qemu write them
const GRAIN_BYTES = GRAIN_SECTORS * SECTOR_BYTES;
const GTES_PER_GT = 512;
const GT_SECTORS = (GTES_PER_GT * 4) / SECTOR_BYTES;
/** First grain at sector 128, like VMware's own stream-optimized disks. */
const OVERHEAD_SECTORS = 128;
const GD_AT_END = 0xffffffffffffffffn;
const VERSION = 3; // what VMware and qemu write for streamOptimized
const FLAG_NEWLINE_TEST = 1 << 0;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
const COMPRESSION_DEFLATE = 1;

enum Marker {
  EndOfStream = 0,
  GrainTable = 1,
  GrainDirectory = 2,
  Footer = 3,
}

export interface VmdkIdentity {
  /** The VMDK's own file name, for the descriptor's extent line. */
  readonly fileName: string;
  /** The image id (64 hex digits): CID and ddb.uuid are derived from it. */
  readonly imageId: string;
}

const sectorsFor = (bytes: number) => Math.ceil(bytes / SECTOR_BYTES);

function sparseHeader(
  capacitySectors: number,
  descriptorSectors: number,
  gdOffset: bigint,
): Buffer {
  const h = Buffer.alloc(SECTOR_BYTES);
  h.write("KDMV", 0, "latin1");
  h.writeUInt32LE(VERSION, 4);
  h.writeUInt32LE(FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS, 8);
  h.writeBigUInt64LE(BigInt(capacitySectors), 12);
  h.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
  h.writeBigUInt64LE(1n, 28); // descriptor offset
  h.writeBigUInt64LE(BigInt(descriptorSectors), 36);
  h.writeUInt32LE(GTES_PER_GT, 44);
  h.writeBigUInt64LE(0n, 48); // no redundant grain directory in a stream
  h.writeBigUInt64LE(gdOffset, 56);
  h.writeBigUInt64LE(BigInt(OVERHEAD_SECTORS), 64);
  h[72] = 0; // clean shutdown
  h.write("\n \r\n", 73, "latin1"); // the newline-corruption test bytes
  h.writeUInt16LE(COMPRESSION_DEFLATE, 77);
  return h;
}

function metadataMarker(sectors: number, type: Marker): Buffer {
  const m = Buffer.alloc(SECTOR_BYTES);
  m.writeBigUInt64LE(BigInt(sectors), 0);
  m.writeUInt32LE(type, 12);
  return m;
}

function padToSector(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc(sectorsFor(b.length) * SECTOR_BYTES - b.length)]);
}

function descriptor(capacitySectors: number, id: VmdkIdentity): string {
  const cid = id.imageId.slice(0, 8) === "ffffffff" ? "fffffffe" : id.imageId.slice(0, 8); // ffffffff: "no parent"
  const uuid = id.imageId
    .slice(0, 32)
    .replace(/(..)(?!$)/g, "$1 ")
    .replace(/^(.{23}) /, "$1-");
  const heads = 16;
  const cylinders = Math.min(16383, Math.floor(capacitySectors / (heads * 63)));
  return [
    "# Disk DescriptorFile",
    "version=1",
    `CID=${cid}`,
    "parentCID=ffffffff",
    'createType="streamOptimized"',
    "",
    "# Extent description",
    `RW ${capacitySectors} SPARSE "${id.fileName}"`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    `ddb.geometry.heads = "${heads}"`,
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "ide"',
    `ddb.uuid = "${uuid}"`,
    "",
  ].join("\n");
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += 8) if (b.readBigUInt64LE(i) !== 0n) return false;
  return true;
}

/** The streamOptimized VMDK of `raw` (a whole number of 64 KiB grains). */
export function streamOptimizedVmdk(raw: Buffer, id: VmdkIdentity): Buffer {
  if (raw.length % GRAIN_BYTES !== 0)
    throw new RangeError("raw disk must be a whole number of 64 KiB grains");
  const capacity = raw.length / SECTOR_BYTES;
  const desc = padToSector(Buffer.from(descriptor(capacity, id), "ascii"));
  const descSectors = desc.length / SECTOR_BYTES;
  const head = Buffer.concat([sparseHeader(capacity, descSectors, GD_AT_END), desc]);
  const parts: Buffer[] = [head, Buffer.alloc((OVERHEAD_SECTORS - 1 - descSectors) * SECTOR_BYTES)];
  let sector = OVERHEAD_SECTORS;
  const append = (b: Buffer) => {
    parts.push(b);
    sector += b.length / SECTOR_BYTES;
  };

  const grains = raw.length / GRAIN_BYTES;
  const tables = Math.ceil(grains / GTES_PER_GT);
  const gt = Buffer.alloc(tables * GT_SECTORS * SECTOR_BYTES);
  for (let g = 0; g < grains; g++) {
    const grain = raw.subarray(g * GRAIN_BYTES, (g + 1) * GRAIN_BYTES);
    if (isZero(grain)) continue;
    const data = zlib.deflateSync(grain, { level: ZLIB_LEVEL });
    const marker = Buffer.alloc(12);
    marker.writeBigUInt64LE(BigInt(g * GRAIN_SECTORS), 0);
    marker.writeUInt32LE(data.length, 8);
    gt.writeUInt32LE(sector, g * 4);
    append(padToSector(Buffer.concat([marker, data])));
  }

  const gd = Buffer.alloc(sectorsFor(tables * 4) * SECTOR_BYTES);
  for (let t = 0; t < tables; t++) {
    const table = gt.subarray(t * GT_SECTORS * SECTOR_BYTES, (t + 1) * GT_SECTORS * SECTOR_BYTES);
    if (isZero(table)) continue; // no grain in this table's 32 MiB: GD entry 0
    append(metadataMarker(GT_SECTORS, Marker.GrainTable));
    gd.writeUInt32LE(sector, t * 4);
    append(table);
  }
  append(metadataMarker(gd.length / SECTOR_BYTES, Marker.GrainDirectory));
  const gdOffset = sector;
  append(gd);
  append(metadataMarker(1, Marker.Footer));
  append(sparseHeader(capacity, descSectors, BigInt(gdOffset)));
  append(metadataMarker(0, Marker.EndOfStream));
  return Buffer.concat(parts);
}
