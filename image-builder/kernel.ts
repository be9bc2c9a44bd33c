/**
 * The kernel side of a build: check the toolchain, run `make -C kernel` (it decides whether
 * there is work), then read kernel/build/ and hold it to docs/boot-contract.md.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { z } from "zod";
import type { EventSink } from "../lib/events";
import { CONFIG_BLOCK_BYTES } from "./config-block";
import {
  BOOT_SIGNATURE_OFFSET,
  BootSoftware,
  CONFIG_LBA,
  KERNEL_MAX_SECTORS,
  PARTITION_TABLE_OFFSET,
  SECTOR_BYTES,
} from "./disk";
import { ImageBuildError } from "./errors";

/** Versions of what produced the bits, for the manifest. */
export interface ToolVersions {
  readonly nasm: string;
  readonly gcc: string;
  readonly ld: string;
  readonly node: string;
  /** Node's bundled zlib: it compresses the VMDK grains and the .gz. */
  readonly zlib: string;
}

/** boot-software.json as the contract defines it, with its fixed values pinned. */
const BootSoftwareInfoSchema = z.object({
  mbrBytes: z.literal(SECTOR_BYTES),
  kernelBytes: z.number().int().positive(),
  kernelSectors: z.number().int().min(1).max(KERNEL_MAX_SECTORS),
  configLba: z.literal(CONFIG_LBA),
  configMaxBytes: z.literal(CONFIG_BLOCK_BYTES),
  sourceHash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BootSoftwareInfo = z.infer<typeof BootSoftwareInfoSchema>;

/** The kernel/ directory of the project this module belongs to (from src or from dist). */
export function defaultKernelDir(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new ImageBuildError(`no package.json above ${__dirname}: pass kernelDir`);
    dir = parent;
  }
  return path.join(dir, "kernel");
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion; rejects only when it cannot start (ENOENT and the like). */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** The tools `make -C kernel` needs, the flag that prints a version, the Debian package. */
const BUILD_TOOLS = [
  { name: "make", versionFlag: "--version", pkg: "make" },
  { name: "nasm", versionFlag: "-v", pkg: "nasm" },
  { name: "gcc", versionFlag: "--version", pkg: "gcc" },
  { name: "ld", versionFlag: "--version", pkg: "binutils" },
  { name: "objcopy", versionFlag: "--version", pkg: "binutils" },
] as const;

/** Checks that every build tool runs; one error lists all that are missing. */
export async function probeBuildTools(env: NodeJS.ProcessEnv = process.env): Promise<ToolVersions> {
  const results = await Promise.all(
    BUILD_TOOLS.map(async (tool) => {
      try {
        const { output } = await run(tool.name, [tool.versionFlag], env);
        return { ...tool, version: output.split("\n")[0].trim() };
      } catch {
        return { ...tool, version: undefined };
      }
    }),
  );
  const missing = results.filter((r) => r.version === undefined);
  if (missing.length > 0) {
    const names = missing.map((m) => m.name).join(", ");
    const pkgs = [...new Set(missing.map((m) => m.pkg))].join(" ");
    throw new ImageBuildError(
      `the kernel build needs ${names}, not found on PATH (Debian/Ubuntu: apt-get install ${pkgs})`,
    );
  }
  const version = (name: string) => results.find((r) => r.name === name)?.version ?? "";
  return {
    nasm: version("nasm"),
    gcc: version("gcc"),
    ld: version("ld"),
    node: process.version,
    zlib: process.versions.zlib ?? "unknown",
  };
}

/**
 * Checks the toolchain, then runs `make -C kernelDir` (nothing to do, in milliseconds, when the
 * kernel is current). A failure carries the last lines of make's output.
 */
export async function buildKernel(kernelDir: string, onEvent: EventSink): Promise<ToolVersions> {
  onEvent({ phase: "kernel", status: "start", message: `make -C ${kernelDir}` });
  try {
    const tools = await probeBuildTools();
    const { code, output } = await run(
      "make",
      ["-C", kernelDir, "--no-print-directory"],
      process.env,
    );
    if (code !== 0) {
      const tail = output.trim().split("\n").slice(-20).join("\n");
      throw new ImageBuildError(
        `kernel build failed: make -C ${kernelDir} exited with ${code}:\n${tail}`,
      );
    }
    const upToDate = /Nothing to be done|is up to date/.test(output) || output.trim() === "";
    onEvent({ phase: "kernel", status: "stop", message: upToDate ? "up to date" : "built" });
    return tools;
  } catch (e) {
    onEvent({ phase: "kernel", status: "error", message: (e as Error).message.split("\n")[0] });
    throw e;
  }
}

/** Reads kernel/build/ and checks it against the boot contract. */
export async function readBootSoftware(
  kernelDir: string,
): Promise<BootSoftware & { info: BootSoftwareInfo }> {
  const buildDir = path.join(kernelDir, "build");
  const breach = (what: string) =>
    new ImageBuildError(
      `${buildDir}: ${what} (docs/boot-contract.md, "What the kernel build produces")`,
    );
  let files: [Buffer, Buffer, string];
  try {
    files = await Promise.all([
      fs.readFile(path.join(buildDir, "mbr.bin")),
      fs.readFile(path.join(buildDir, "kernel.bin")),
      fs.readFile(path.join(buildDir, "boot-software.json"), "utf8"),
    ]);
  } catch (e) {
    throw breach(`boot software missing after make: ${(e as Error).message}`);
  }
  const [mbr, kernel, infoText] = files;
  let infoData: unknown;
  try {
    infoData = JSON.parse(infoText);
  } catch (e) {
    throw breach(`boot-software.json is not JSON: ${(e as Error).message}`);
  }
  const parsed = BootSoftwareInfoSchema.safeParse(infoData);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw breach(`boot-software.json: ${issue.path.join(".")}: ${issue.message}`);
  }
  const info = parsed.data;
  if (mbr.length !== SECTOR_BYTES) throw breach(`mbr.bin is ${mbr.length} bytes, not 512`);
  if (mbr.subarray(PARTITION_TABLE_OFFSET, BOOT_SIGNATURE_OFFSET).some((b) => b !== 0))
    throw breach(
      `mbr.bin has non-zero bytes in the partition table (${PARTITION_TABLE_OFFSET}–${BOOT_SIGNATURE_OFFSET - 1})`,
    );
  if (mbr[BOOT_SIGNATURE_OFFSET] !== 0x55 || mbr[BOOT_SIGNATURE_OFFSET + 1] !== 0xaa)
    throw breach("mbr.bin does not end in 55 AA");
  if (kernel.length !== info.kernelSectors * SECTOR_BYTES) {
    throw breach(
      `kernel.bin is ${kernel.length} bytes, boot-software.json says ${info.kernelSectors} sectors`,
    );
  }
  if (info.kernelBytes > kernel.length || info.kernelBytes <= kernel.length - SECTOR_BYTES) {
    throw breach(
      `kernelBytes ${info.kernelBytes} does not round up to ${info.kernelSectors} sectors`,
    );
  }
  return { mbr, kernel, info };
}
