/**
 * The configuration block the kernel reads from LBA 40 (docs/boot-contract.md, "Configuration
 * block"): a 48-byte header, then `key=value` lines, an empty line and the HTTP body.
 */
import * as zlib from "node:zlib";
import type { ImageConfig } from "./config";
import { ImageBuildError } from "./errors";

export const CONFIG_BLOCK_BYTES = 4096;
const CONFIG_HEADER_BYTES = 48;
/** Payload room: everything after the header. */
const CONFIG_PAYLOAD_MAX = CONFIG_BLOCK_BYTES - CONFIG_HEADER_BYTES;
/** Where the 32-byte build id (the image id) sits inside the block. */
export const BUILD_ID_OFFSET_IN_BLOCK = 16;
export const BUILD_ID_BYTES = 32;
const MAGIC = "EXOCFG01";

/** The settings lines and the empty line that ends them (ASCII: every value is validated). */
function configSettings(config: ImageConfig): string {
  const net = config.network;
  const lines =
    net.mode === "static"
      ? ["net=static", `ip=${net.address}`, ...(net.gateway ? [`gw=${net.gateway}`] : [])]
      : ["net=dhcp"];
  lines.push(
    `port=${config.http.port}`,
    `hostname=${config.hostname}`,
    `content-type=${config.http.contentType}`,
  );
  return lines.map((line) => `${line}\n`).join("") + "\n";
}

/** How many bytes of HTTP body fit next to these settings. */
export function bodyBudget(config: ImageConfig): number {
  return CONFIG_PAYLOAD_MAX - Buffer.byteLength(configSettings(config), "ascii");
}

/** The whole 4096-byte block (LBA 40–47) for `config`, build id all zero. */
export function encodeConfigBlock(config: ImageConfig): Buffer {
  return configBlockFromPayload(
    Buffer.concat([
      Buffer.from(configSettings(config), "ascii"),
      Buffer.from(config.http.body, "utf8"),
    ]),
  );
}

/**
 * A block around any payload (tests of the kernel's parser need malformed ones): header with
 * magic, length and CRC-32, build id all zero, zero padding to 4096 bytes.
 */
export function configBlockFromPayload(payload: Buffer): Buffer {
  if (payload.length > CONFIG_PAYLOAD_MAX) {
    // parseImageConfig refuses such a body; reaching this means a caller skipped validation.
    throw new ImageBuildError(
      `configuration payload is ${payload.length} bytes, over ${CONFIG_PAYLOAD_MAX}`,
    );
  }
  const block = Buffer.alloc(CONFIG_BLOCK_BYTES);
  block.write(MAGIC, 0, "ascii");
  block.writeUInt32LE(payload.length, 8);
  block.writeUInt32LE(zlib.crc32(payload), 12);
  payload.copy(block, CONFIG_HEADER_BYTES);
  return block;
}
