/**
 * gzip (RFC 1952) with a header of our own making: Node's gzip writes the OS byte of the build
 * host, so we write the 10 header bytes ourselves and let zlib only deflate.
 */
import * as zlib from "node:zlib";

/** The deflate level of every compressed image format we write (gzip, stream-optimized VMDK). */
export const ZLIB_LEVEL = 9;
/**
 * 1F 8B: magic; 08: deflate; 00: flags (no name, comment or extra field); 00000000: mtime 0;
 * 02: XFL, maximum compression (level 9); FF: OS unknown, whatever the build host.
 */
const HEADER = Buffer.from("1f8b08000000000002ff", "hex");

export function deterministicGzip(data: Buffer): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([HEADER, zlib.deflateRawSync(data, { level: ZLIB_LEVEL }), trailer]);
}
