/**
 * buildImage end to end against a fixture kernel directory: artefacts, manifest,
 * reproducibility, atomic output, and the errors a user can meet.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { PhaseEvent } from "../../lib/events";
import {
  buildImage,
  BuildResult,
  formatBuildResult,
  ImageBuildError,
  ImageConfigError,
  imageIdOf,
  parseImageConfig,
} from "../../image-builder";
import { probeBuildTools } from "../../image-builder/kernel";
import { fixtureKernelDir, fixtureMbr, qemuImg, tempDir } from "./helpers";

const config = parseImageConfig({
  network: { mode: "static", address: "10.0.2.15/24", gateway: "10.0.2.2" },
  http: { body: "reproducible\n" },
  hostname: "build-test",
});
const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function dirForTest(): string {
  const d = tempDir();
  cleanup.push(d);
  return d;
}
function kernelForTest(opts?: Parameters<typeof fixtureKernelDir>[0]): string {
  const d = fixtureKernelDir(opts);
  cleanup.push(d);
  return d;
}
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe("buildImage", () => {
  const kernelDir = kernelForTest();
  const outDir = path.join(dirForTest(), "nested", "out");
  const events: PhaseEvent[] = [];
  let result: BuildResult;
  beforeAll(async () => {
    result = await buildImage({ config, outDir, kernelDir, onEvent: (e) => events.push(e) });
  });

  it("names the artefacts by the image id and writes exactly them and the manifest", () => {
    const base = `exoform-${result.imageId.slice(0, 12)}`;
    expect(result.imageId).toMatch(/^[0-9a-f]{64}$/);
    expect(result.raw.path).toBe(path.join(outDir, `${base}.raw`));
    expect(result.vmdk.path).toBe(path.join(outDir, `${base}.vmdk`));
    expect(result.gz.path).toBe(path.join(outDir, `${base}.raw.gz`));
    expect(fs.readdirSync(outDir).sort()).toEqual([
      `${base}.raw`,
      `${base}.raw.gz`,
      `${base}.vmdk`,
      "manifest.json",
    ]);
    for (const name of [result.raw.path, result.vmdk.path]) {
      expect(path.basename(name)).toMatch(/^[A-Za-z0-9-.+=_]+\.(raw|vmdk)$/); // Proxmox's rule
    }
  });

  it("reports each artefact's true sha256 and size", () => {
    for (const a of [result.raw, result.vmdk, result.gz]) {
      expect(sha256(a.path)).toBe(a.sha256);
      expect(fs.statSync(a.path).size).toBe(a.bytes);
    }
    expect(result.raw.bytes).toBe(2 * 1024 * 1024);
  });

  it("writes an image whose build id field is its image id", () => {
    const raw = fs.readFileSync(result.raw.path);
    expect(imageIdOf(raw)).toBe(result.imageId);
    expect(raw.subarray(20480 + 16, 20480 + 48).toString("hex")).toBe(result.imageId);
  });

  it("is an MBR disk to libmagic too", () => {
    const described = execFileSync("file", ["-b", result.raw.path], { encoding: "utf8" });
    expect(described).toContain("DOS/MBR boot sector; partition 1 : ID=0xda, active");
    expect(described).toContain("startsector 2048, 2048 sectors");
  });

  it("gzips the raw image without name or timestamp, OS byte 255", () => {
    const gz = fs.readFileSync(result.gz.path);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
    expect(zlib.gunzipSync(gz).equals(fs.readFileSync(result.raw.path))).toBe(true);
    execFileSync("gzip", ["-t", result.gz.path]);
  });

  it("writes a VMDK qemu-img finds identical to the raw image", () => {
    expect(
      qemuImg("compare", "-f", "raw", "-F", "vmdk", result.raw.path, result.vmdk.path),
    ).toContain("Images are identical.");
  });

  it("records everything in manifest.json, by file name", () => {
    const manifest = JSON.parse(fs.readFileSync(result.manifestPath, "utf8"));
    expect(manifest).toEqual(result.manifest);
    expect(manifest).toMatchObject({
      format: "exoform-image-manifest/1",
      imageId: result.imageId,
      artifacts: {
        raw: {
          file: path.basename(result.raw.path),
          sha256: result.raw.sha256,
          bytes: result.raw.bytes,
        },
        vmdk: {
          file: path.basename(result.vmdk.path),
          sha256: result.vmdk.sha256,
          bytes: result.vmdk.bytes,
        },
        gz: {
          file: path.basename(result.gz.path),
          sha256: result.gz.sha256,
          bytes: result.gz.bytes,
        },
      },
      kernel: { sourceHash: "ab".repeat(32), kernelSectors: 3 },
      config,
    });
    expect(manifest.tools.nasm).toMatch(/^NASM version /);
    expect(manifest.tools.gcc).toMatch(/gcc/);
    expect(manifest.tools.ld).toMatch(/ld/);
    expect(manifest.tools.node).toBe(process.version);
    expect(manifest.tools.zlib).toBe(process.versions.zlib);
    expect(JSON.stringify(manifest)).not.toContain(outDir);
  });

  it("reports the kernel and image phases as events", () => {
    expect(events.map((e) => `${e.phase}:${e.status}`)).toEqual([
      "kernel:start",
      "kernel:stop",
      "image:start",
      "image:progress",
      "image:progress",
      "image:progress",
      "image:stop",
    ]);
    expect(events.at(-1)?.data).toMatchObject({
      imageId: result.imageId,
      rawBytes: result.raw.bytes,
    });
  });

  it("formats the result for humans: every artefact with its size, the manifest, the image id", () => {
    const text = formatBuildResult(result);
    expect(text).toContain(`${result.raw.path}  `);
    expect(text).toContain("2.0 MiB (2097152 bytes)");
    expect(text).toContain(result.vmdk.path);
    expect(text).toContain(result.gz.path);
    expect(text).toContain(result.manifestPath);
    expect(text.split("\n").at(-1)).toBe(`image id  ${result.imageId}`);
  });

  it("gives bit-identical artefacts in another directory, another time, from another kernel dir", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // a different second: any timestamp would show
    const again = await buildImage({ config, outDir: dirForTest(), kernelDir: kernelForTest() });
    expect(again.imageId).toBe(result.imageId);
    for (const kind of ["raw", "vmdk", "gz"] as const) {
      expect(fs.readFileSync(again[kind].path).equals(fs.readFileSync(result[kind].path))).toBe(
        true,
      );
    }
    expect(fs.readFileSync(again.manifestPath).equals(fs.readFileSync(result.manifestPath))).toBe(
      true,
    );
  });

  it("rebuilds over its own artefacts, leaving no temp files", async () => {
    const again = await buildImage({ config, outDir, kernelDir });
    expect(again.imageId).toBe(result.imageId);
    expect(fs.readdirSync(outDir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("buildImage output safety", () => {
  it("removes temp files of dead builds and keeps those of live ones", async () => {
    const outDir = dirForTest();
    const dead = execFileSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).trim(); // exited already
    const deadTemp = path.join(outDir, `.exoform-0123456789ab.raw.${dead}.deadbeef.tmp`);
    const liveTemp = path.join(outDir, `.exoform-0123456789ab.raw.${process.pid}.cafe.tmp`);
    fs.writeFileSync(deadTemp, "half");
    fs.writeFileSync(liveTemp, "in progress");
    await buildImage({ config, outDir, kernelDir: kernelForTest() });
    expect(fs.existsSync(deadTemp)).toBe(false);
    expect(fs.existsSync(liveTemp)).toBe(true);
  });

  it("writes nothing when the configuration is invalid", async () => {
    const outDir = path.join(dirForTest(), "never");
    const bad = { ...config, http: { ...config.http, port: 0 } };
    await expect(buildImage({ config: bad, outDir, kernelDir: kernelForTest() })).rejects.toThrow(
      ImageConfigError,
    );
    expect(fs.existsSync(outDir)).toBe(false);
  });

  it("a write failing midway leaves whole artefacts or none, no manifest and no temp file", async () => {
    const kernelDir = kernelForTest();
    const first = await buildImage({ config, outDir: dirForTest(), kernelDir });
    const outDir = dirForTest();
    fs.mkdirSync(path.join(outDir, path.basename(first.vmdk.path))); // renaming over a directory fails
    await expect(buildImage({ config, outDir, kernelDir })).rejects.toThrow();
    const left = fs.readdirSync(outDir);
    expect(left.filter((n) => n.endsWith(".tmp") || n === "manifest.json")).toEqual([]);
    expect(sha256(path.join(outDir, path.basename(first.raw.path)))).toBe(first.raw.sha256);
    expect(left).not.toContain(path.basename(first.gz.path));
  });
});

/** The fixture MBR with one byte changed. */
function mbrWith(offset: number, value: number): Buffer {
  const mbr = fixtureMbr();
  mbr[offset] = value;
  return mbr;
}

describe("buildImage errors", () => {
  it("fails with make's output when the kernel build fails", async () => {
    const kernelDir = kernelForTest({
      makeRecipe: "@echo 'boot/mbr.asm:12: error: bad things' >&2; exit 3",
    });
    const events: PhaseEvent[] = [];
    const build = buildImage({
      config,
      outDir: dirForTest(),
      kernelDir,
      onEvent: (e) => events.push(e),
    });
    await expect(build).rejects.toThrow(ImageBuildError);
    await expect(build).rejects.toThrow(
      /kernel build failed: make -C .* exited with 2:\n.*boot\/mbr\.asm:12: error: bad things/,
    );
    expect(events.at(-1)).toMatchObject({ phase: "kernel", status: "error" });
  });

  it.each([
    ["an MBR of the wrong size", { mbr: Buffer.alloc(510) }, "mbr.bin is 510 bytes, not 512"],
    ["an MBR with a partition table", { mbr: mbrWith(450, 1) }, "non-zero bytes in the partition"],
    ["an MBR without 55 AA", { mbr: mbrWith(511, 0) }, "does not end in 55 AA"],
    [
      "a kernel over 32 sectors",
      { kernelSectors: 33, info: { kernelBytes: 33 * 512 - 100 } },
      "kernelSectors: Too big",
    ],
    [
      "a kernel.bin of another size",
      { info: { kernelSectors: 4 } },
      "kernel.bin is 1536 bytes, boot-software.json says 4 sectors",
    ],
    ["another config LBA", { info: { configLba: 41 } }, "configLba: Invalid input: expected 40"],
    ["no source hash", { info: { sourceHash: undefined } }, "sourceHash:"],
  ])("refuses boot software with %s, citing the contract", async (_what, opts, message) => {
    const build = buildImage({ config, outDir: dirForTest(), kernelDir: kernelForTest(opts) });
    await expect(build).rejects.toThrow(ImageBuildError);
    await expect(build).rejects.toThrow(message);
    await expect(build).rejects.toThrow("docs/boot-contract.md");
  });

  it("says which tools are missing and how to install them", async () => {
    const bin = dirForTest();
    for (const tool of ["make", "gcc", "ld"]) {
      const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
      fs.symlinkSync(real, path.join(bin, tool));
    }
    await expect(probeBuildTools({ PATH: bin })).rejects.toThrow(
      "the kernel build needs nasm, objcopy, not found on PATH (Debian/Ubuntu: apt-get install nasm binutils)",
    );
  });

  it("reports the versions of the tools it found", async () => {
    await expect(probeBuildTools()).resolves.toMatchObject({
      nasm: expect.stringMatching(/^NASM version/),
    });
  });
});
