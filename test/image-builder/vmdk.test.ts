/**
 * The VMDK writer, checked field by field and against qemu-img (the oracle: Proxmox imports
 * through it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseImageConfig } from "../../image-builder";
import { encodeConfigBlock } from "../../image-builder/config-block";
import { assembleRawDisk } from "../../image-builder/disk";
import { streamOptimizedVmdk } from "../../image-builder/vmdk";
import { fixtureMbr, qemuImg, tempDir } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const { raw, imageId } = assembleRawDisk(
  { mbr: fixtureMbr(), kernel: Buffer.alloc(4 * 512, 0x4b) },
  encodeConfigBlock(parseImageConfig({})),
);
const vmdk = streamOptimizedVmdk(raw, { fileName: "disk.vmdk", imageId });
const rawPath = path.join(dir, "disk.raw");
const vmdkPath = path.join(dir, "disk.vmdk");
fs.writeFileSync(rawPath, raw);
fs.writeFileSync(vmdkPath, vmdk);

/** A header or footer sector, decoded. */
function header(sector: Buffer) {
  return {
    magic: sector.subarray(0, 4).toString("latin1"),
    version: sector.readUInt32LE(4),
    flags: sector.readUInt32LE(8),
    capacity: sector.readBigUInt64LE(12),
    grainSectors: sector.readBigUInt64LE(20),
    descriptorOffset: sector.readBigUInt64LE(28),
    descriptorSectors: sector.readBigUInt64LE(36),
    gtesPerGt: sector.readUInt32LE(44),
    gdOffset: sector.readBigUInt64LE(56),
    overhead: sector.readBigUInt64LE(64),
    newlineTest: sector.subarray(73, 77).toString("latin1"),
    compression: sector.readUInt16LE(77),
  };
}

describe("streamOptimized VMDK structure", () => {
  const head = header(vmdk.subarray(0, 512));

  it("starts with a version 3 sparse header: compressed grains, markers, footer", () => {
    expect(head).toMatchObject({
      magic: "KDMV",
      version: 3,
      flags: 0x30001,
      capacity: 4096n,
      grainSectors: 128n,
      descriptorOffset: 1n,
      gtesPerGt: 512,
      gdOffset: 0xffffffffffffffffn,
      overhead: 128n,
      newlineTest: "\n \r\n",
      compression: 1,
    });
    expect(vmdk.length % 512).toBe(0);
  });

  it("embeds a descriptor whose CID and uuid come from the image id", () => {
    const text = vmdk.subarray(512, 512 * (1 + Number(head.descriptorSectors))).toString("latin1");
    expect(text).toContain(`CID=${imageId.slice(0, 8)}\n`);
    expect(text).toContain("parentCID=ffffffff\n");
    expect(text).toContain('createType="streamOptimized"\n');
    expect(text).toContain('RW 4096 SPARSE "disk.vmdk"\n');
    const uuid = /ddb\.uuid = "([0-9a-f ]{23})-([0-9a-f ]{23})"/.exec(text);
    expect(uuid && (uuid[1] + uuid[2]).replace(/ /g, "")).toBe(imageId.slice(0, 32));
  });

  it("ends with footer marker, footer (the header with the real gdOffset) and end-of-stream", () => {
    const end = vmdk.length;
    const footerMarker = vmdk.subarray(end - 1536, end - 1024);
    expect(footerMarker.readBigUInt64LE(0)).toBe(1n);
    expect(footerMarker.readUInt32LE(8)).toBe(0);
    expect(footerMarker.readUInt32LE(12)).toBe(3);
    const footer = header(vmdk.subarray(end - 1024, end - 512));
    expect({ ...footer, gdOffset: 0n }).toEqual({ ...head, gdOffset: 0n });
    expect(vmdk.subarray(end - 512).every((b) => b === 0)).toBe(true);

    const gdOffset = Number(footer.gdOffset);
    const gdMarker = vmdk.subarray((gdOffset - 1) * 512, gdOffset * 512);
    expect(gdMarker.readUInt32LE(12)).toBe(2);
    const gtOffset = vmdk.readUInt32LE(gdOffset * 512);
    expect(vmdk.readUInt32LE((gtOffset - 1) * 512 + 12)).toBe(1); // GT marker before the table
  });

  it("stores only non-zero grains, each behind a marker naming its LBA", () => {
    const footer = header(vmdk.subarray(vmdk.length - 1024, vmdk.length - 512));
    const gt = vmdk.readUInt32LE(Number(footer.gdOffset) * 512) * 512;
    const entries = Array.from({ length: 32 }, (_, i) => vmdk.readUInt32LE(gt + i * 4));
    expect(entries[0]).toBe(128); // grain 0 (MBR, kernel, config) right after the overhead
    expect(entries.slice(1).every((e) => e === 0)).toBe(true);
    expect(vmdk.readBigUInt64LE(128 * 512)).toBe(0n); // its marker: LBA 0
  });
});

describe("qemu-img accepts the VMDK", () => {
  it("info: vmdk, streamOptimized, 2 MiB, compressed, our CID", () => {
    const info = JSON.parse(qemuImg("info", "--output=json", vmdkPath));
    expect(info.format).toBe("vmdk");
    expect(info["virtual-size"]).toBe(raw.length);
    expect(info["format-specific"].data["create-type"]).toBe("streamOptimized");
    expect(info["format-specific"].data.cid).toBe(parseInt(imageId.slice(0, 8), 16));
    expect(info["format-specific"].data.extents[0].compressed).toBe(true);
    expect(info["backing-filename"]).toBeUndefined();
  });

  it("check: no errors", () => {
    expect(qemuImg("check", "-f", "vmdk", vmdkPath)).toContain(
      "No errors were found on the image.",
    );
  });

  it("compare: identical to the raw image", () => {
    expect(qemuImg("compare", "-f", "raw", "-F", "vmdk", rawPath, vmdkPath)).toContain(
      "Images are identical.",
    );
  });

  it("reads back a larger disk: incompressible grains, several grain tables, an empty one skipped", () => {
    const big = Buffer.alloc(66 * 1024 * 1024); // grain tables: 0–32 MiB, 32–64 MiB (empty), 64–66 MiB
    let seed = 1;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      big[i] = seed >>> 24; // noise: compressed grains larger than 64 KiB
    }
    big.fill(0xee, 20 * 1024 * 1024, 20 * 1024 * 1024 + 700); // a grain that is mostly zero
    big.fill(0x5a, 65 * 1024 * 1024 + 512); // data up to the last sector
    const bigVmdk = streamOptimizedVmdk(big, { fileName: "big.vmdk", imageId });
    const bigRawPath = path.join(dir, "big.raw");
    const bigVmdkPath = path.join(dir, "big.vmdk");
    fs.writeFileSync(bigRawPath, big);
    fs.writeFileSync(bigVmdkPath, bigVmdk);
    expect(qemuImg("check", "-f", "vmdk", bigVmdkPath)).toContain(
      "No errors were found on the image.",
    );
    expect(qemuImg("compare", "-f", "raw", "-F", "vmdk", bigRawPath, bigVmdkPath)).toContain(
      "Images are identical.",
    );
    const footer = header(bigVmdk.subarray(bigVmdk.length - 1024, bigVmdk.length - 512));
    const gd = Number(footer.gdOffset) * 512;
    expect([0, 1, 2].map((t) => bigVmdk.readUInt32LE(gd + t * 4) !== 0)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it("refuses a disk that is not a whole number of grains", () => {
    expect(() => streamOptimizedVmdk(Buffer.alloc(512), { fileName: "x.vmdk", imageId })).toThrow(
      RangeError,
    );
  });
});
