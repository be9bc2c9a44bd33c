/**
 * Custom image import as DigitalOcean does it: from a URL only, fetched anonymously (HEAD first,
 * then GET), gzip or bzip2 compression, raw (MBR/GPT), qcow2, vhdx, vdi or vmdk inside; the result
 * is kept in the emulator's image store.
 *
 * Sources: digitalocean/openapi `specification/resources/images/images_create_custom.yml` (POST
 * /v2/images, formats, gzip/bzip2 only); docs.digitalocean.com/products/custom-images/details/limits/
 * (the URL must support HEAD); the DO answer quoted in nanovms/ops#468 (a URL must end in a file
 * name and carry no query string: presigned URLs fail); hashicorp/packer#7848 (xz: "We don't
 * support the compression format…"), terraform-provider-digitalocean#613 (tar: "…contains
 * multiple files"). Failures end as image status `deleted` with `error_message`, which
 * TF-DO `image/resource_custom_image.go` waitForImage turns into the create error. Where DO's
 * exact wording is not known, the message here says the same thing in its own words.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as zlib from "node:zlib";

export type DiskFormat = "raw" | "qcow2" | "vhdx" | "vdi" | "vmdk";

export class ImportError extends Error {}

/** Checks the URL the way DO's importer is reported to; returns the reason it fails, if any. Pure. */
export function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${text} is not a valid URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `the image URL must use http or https, not ${url.protocol}`;
  if (url.search !== "") return "the image URL must not contain a query string";
  const last = url.pathname.split("/").pop() ?? "";
  if (!/^[^/]+\.[A-Za-z0-9]+$/.test(last)) return "the image URL must end in a file name";
  return undefined;
}

const XZ = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** Decompresses gzip/bzip2 (or passes an uncompressed disk through); refuses the rest. */
export function decompress(data: Buffer): Buffer {
  if (data[0] === 0x1f && data[1] === 0x8b) return zlib.gunzipSync(data);
  if (data.subarray(0, 3).toString("latin1") === "BZh")
    return execFileSync("bzip2", ["-dc"], { input: data, maxBuffer: 1 << 30 });
  if (data.subarray(0, 6).equals(XZ) || (data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f))
    throw new ImportError(
      "We don't support the compression format of this image. Please use gzip or bzip2.",
    );
  return data;
}

/** The disk format of decompressed image bytes. Pure. */
export function diskFormat(disk: Buffer): DiskFormat {
  if (disk.length >= 262 && disk.subarray(257, 262).toString("latin1") === "ustar")
    throw new ImportError("The image archive contains multiple files; upload a single disk image.");
  if (disk.subarray(0, 4).toString("latin1") === "QFI\xfb") return "qcow2";
  if (disk.subarray(0, 8).toString("latin1") === "vhdxfile") return "vhdx";
  if (disk.length >= 0x44 && disk.readUInt32LE(0x40) === 0xbeda107f) return "vdi";
  if (disk.subarray(0, 4).toString("latin1") === "KDMV") return "vmdk";
  if (disk.subarray(0, 21).toString("latin1") === "# Disk DescriptorFile") return "vmdk";
  if (disk.length >= 512 && disk[510] === 0x55 && disk[511] === 0xaa) return "raw";
  throw new ImportError("The image is not in a supported format (raw, qcow2, vhdx, vdi or vmdk).");
}

export interface FetchedImage {
  readonly disk: Buffer;
  readonly format: DiskFormat;
  /** What DO reports as size_gigabytes: the size of the transferred file. */
  readonly sizeGigabytes: number;
}

/** HEAD, then GET, with no credentials; then decompress and identify. */
export async function fetchImage(url: string): Promise<FetchedImage> {
  const problem = urlProblem(url);
  if (problem) throw new ImportError(problem);
  const head = await fetch(url, { method: "HEAD", redirect: "follow" }).catch((e: Error) => {
    throw new ImportError(`could not reach ${new URL(url).host}: ${e.message}`);
  });
  if (!head.ok)
    throw new ImportError(
      `the image URL answered HEAD with ${head.status} ${head.statusText}; it must be publicly readable`,
    );
  const get = await fetch(url, { redirect: "follow" });
  if (!get.ok)
    throw new ImportError(`the image URL answered GET with ${get.status} ${get.statusText}`);
  const body = Buffer.from(await get.arrayBuffer());
  const disk = decompress(body);
  if (disk.length > 100 * 2 ** 30)
    throw new ImportError("The image is larger than 100 GB uncompressed.");
  return {
    disk,
    format: diskFormat(disk),
    sizeGigabytes: Number((body.length / 2 ** 30).toFixed(8)),
  };
}

export function storeImage(file: string, disk: Buffer): void {
  fs.writeFileSync(file, disk);
}
