/**
 * Raw disks for the kernel tests, made by the image builder's own pieces (one disk assembler):
 * build the kernel, wrap any payload (malformed ones too) in a configuration block, lay out the
 * disk (docs/boot-contract.md). The disk's build id is the image id, as in every real image.
 */
import * as fs from "node:fs";
import {
  assembleRawDisk,
  BootSoftware as DiskBootSoftware,
  BootSoftwareInfo,
  BUILD_ID_OFFSET_IN_BLOCK,
  buildKernel as makeKernel,
  configBlockFromPayload,
  defaultKernelDir,
  readBootSoftware,
} from "../../image-builder";

/** kernel/ of the repository. */
export const kernelDir = defaultKernelDir();

export type BootSoftware = DiskBootSoftware & { readonly info: BootSoftwareInfo };

/** `make -C kernel` (quick when up to date) and the files it made, checked as a build does. */
export async function buildKernel(): Promise<BootSoftware> {
  await makeKernel(kernelDir, () => undefined);
  return readBootSoftware(kernelDir);
}

/**
 * A 4096-byte configuration block around `payload`; `buildId` (32 bytes) only matters to the
 * host parser tests: writeDisk replaces it with the image id.
 */
export function configBlock(payload: string | Buffer, buildId?: Buffer): Buffer {
  const block = configBlockFromPayload(Buffer.from(payload));
  buildId?.copy(block, BUILD_ID_OFFSET_IN_BLOCK);
  return block;
}

/** Writes the raw disk with `block` at LBA 40 to `file`; returns the image id (its build id). */
export function writeDisk(file: string, boot: BootSoftware, block: Buffer): string {
  const { raw, imageId } = assembleRawDisk(boot, block);
  fs.writeFileSync(file, raw);
  return imageId;
}
