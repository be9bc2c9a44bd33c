import { createHash } from "node:crypto";
import { imageIdOf, parseImageConfig } from "../../image-builder";
import { encodeConfigBlock } from "../../image-builder/config-block";
import { assembleRawDisk, partitionTable } from "../../image-builder/disk";
import { fixtureMbr } from "./helpers";

const kernel = Buffer.alloc(5 * 512, 0x4b); // "K" × 5 sectors
const config = parseImageConfig({ hostname: "disk-test" });
const { raw, imageId } = assembleRawDisk({ mbr: fixtureMbr(), kernel }, encodeConfigBlock(config));
const sector = (lba: number) => raw.subarray(lba * 512, (lba + 1) * 512);

describe("raw disk layout", () => {
  it("is 2 MiB", () => {
    expect(raw).toHaveLength(2 * 1024 * 1024);
  });

  it("keeps the MBR's boot code and signature, with our partition table between them", () => {
    expect(raw.subarray(0, 446).equals(fixtureMbr().subarray(0, 446))).toBe(true);
    expect([raw[510], raw[511]]).toEqual([0x55, 0xaa]);
  });

  it("has one active partition of type 0xDA from LBA 2048 to the end, entries 2–4 empty", () => {
    const entry = raw.subarray(446, 462);
    expect(entry[0]).toBe(0x80); // active
    expect(entry[4]).toBe(0xda); // type
    expect(entry.readUInt32LE(8)).toBe(2048); // first LBA
    expect(entry.readUInt32LE(12)).toBe(4096 - 2048); // sectors
    // CHS with 255 heads × 63 sectors, as fdisk writes it: LBA 2048 = 0/32/33, LBA 4095 = 0/65/1.
    expect([...entry.subarray(1, 4)]).toEqual([32, 33, 0]);
    expect([...entry.subarray(5, 8)]).toEqual([65, 1, 0]);
    expect(raw.subarray(462, 510).every((b) => b === 0)).toBe(true);
  });

  it("writes CHS 1023/254/63 for sectors CHS cannot address", () => {
    const big = partitionTable(20 * 1024 * 1024 * 2); // 20 GiB
    expect([...big.subarray(5, 8)]).toEqual([0xfe, 0xff, 0xff]);
    expect(big.readUInt32LE(12)).toBe(20 * 1024 * 1024 * 2 - 2048);
  });

  it("puts kernel.bin at LBA 1 and zeros up to the configuration block", () => {
    expect(raw.subarray(512, 512 + kernel.length).equals(kernel)).toBe(true);
    expect(raw.subarray(512 + kernel.length, 40 * 512).every((b) => b === 0)).toBe(true);
  });

  it("puts the configuration block at LBA 40–47 with the image id as build id", () => {
    const block = raw.subarray(40 * 512, 48 * 512);
    const expected = encodeConfigBlock(config);
    expect(block.subarray(0, 16).equals(expected.subarray(0, 16))).toBe(true);
    expect(block.subarray(16, 48).toString("hex")).toBe(imageId);
    expect(block.subarray(48).equals(expected.subarray(48))).toBe(true);
    expect(sector(40).subarray(0, 8).toString("ascii")).toBe("EXOCFG01");
  });

  it("leaves everything after the configuration block zero (partition 1 is reserved)", () => {
    expect(raw.subarray(48 * 512).every((b) => b === 0)).toBe(true);
  });
});

describe("image id", () => {
  it("is the SHA-256 of the disk with the build id zeroed, verifiable as the contract says", () => {
    const canonical = Buffer.from(raw);
    canonical.fill(0, 20480 + 16, 20480 + 48);
    expect(createHash("sha256").update(canonical).digest("hex")).toBe(imageId);
    expect(imageIdOf(raw)).toBe(imageId);
    expect(imageIdOf(canonical)).toBe(imageId);
  });

  it("changes with the configuration and with the kernel", () => {
    const other = assembleRawDisk(
      { mbr: fixtureMbr(), kernel },
      encodeConfigBlock(parseImageConfig({ hostname: "disk-test2" })),
    );
    expect(other.imageId).not.toBe(imageId);
    const otherKernel = Buffer.from(kernel);
    otherKernel[100] ^= 1;
    expect(
      assembleRawDisk({ mbr: fixtureMbr(), kernel: otherKernel }, encodeConfigBlock(config))
        .imageId,
    ).not.toBe(imageId);
  });
});
