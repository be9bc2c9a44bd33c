/**
 * buildImage: kernel build, raw disk, VMDK, gzip and manifest, named by the image id.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { EventSink, ignoreEvents } from "../lib/events";
import { ImageConfig, parseImageConfig } from "./config";
import { encodeConfigBlock } from "./config-block";
import { assembleRawDisk } from "./disk";
import { deterministicGzip } from "./gzip";
import { buildKernel, defaultKernelDir, readBootSoftware, ToolVersions } from "./kernel";
import { removeStaleTempFiles, writeFileAtomic } from "./output";
import { streamOptimizedVmdk } from "./vmdk";

export interface Artifact {
  /** Absolute path. */
  path: string;
  sha256: string;
  bytes: number;
}

/** An artefact as manifest.json records it: by file name, so the manifest is reproducible. */
export interface ManifestArtifact {
  file: string;
  sha256: string;
  bytes: number;
}

/** manifest.json: what was built, from what, with what. Written last, so its presence means
 * the artefacts it names are complete. */
export interface Manifest {
  format: "exoform-image-manifest/1";
  imageId: string;
  artifacts: { raw: ManifestArtifact; vmdk: ManifestArtifact; gz: ManifestArtifact };
  kernel: { sourceHash: string; kernelBytes: number; kernelSectors: number };
  config: ImageConfig;
  tools: ToolVersions;
}

export interface BuildResult {
  imageId: string;
  raw: Artifact;
  vmdk: Artifact;
  gz: Artifact;
  manifestPath: string;
  manifest: Manifest;
}

export interface BuildImageOptions {
  config: ImageConfig;
  /** Created if missing. Artefacts of other builds in it are left alone. */
  outDir: string;
  onEvent?: EventSink;
  /** The kernel sources (default: this project's kernel/). */
  kernelDir?: string;
}

/** Artefact names: `exoform-<first 12 hex digits of the image id>` plus the extension. */
export function artifactBaseName(imageId: string): string {
  return `exoform-${imageId.slice(0, 12)}`;
}

function manifestArtifact(file: string, data: Buffer): ManifestArtifact {
  return { file, sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length };
}

export async function buildImage(opts: BuildImageOptions): Promise<BuildResult> {
  const onEvent = opts.onEvent ?? ignoreEvents;
  const config = parseImageConfig(opts.config);
  const kernelDir = path.resolve(opts.kernelDir ?? defaultKernelDir());
  const outDir = path.resolve(opts.outDir);

  const tools = await buildKernel(kernelDir, onEvent);

  const started = Date.now();
  onEvent({ phase: "image", status: "start", message: `building into ${outDir}` });
  try {
    const boot = await readBootSoftware(kernelDir);
    const { raw, imageId } = assembleRawDisk(boot, encodeConfigBlock(config));
    const base = artifactBaseName(imageId);
    const contents = {
      raw,
      vmdk: streamOptimizedVmdk(raw, { fileName: `${base}.vmdk`, imageId }),
      gz: deterministicGzip(raw),
    };
    const artifacts = {
      raw: manifestArtifact(`${base}.raw`, contents.raw),
      vmdk: manifestArtifact(`${base}.vmdk`, contents.vmdk),
      gz: manifestArtifact(`${base}.raw.gz`, contents.gz),
    };

    await fs.mkdir(outDir, { recursive: true });
    await removeStaleTempFiles(outDir);
    for (const kind of ["raw", "vmdk", "gz"] as const) {
      const { file, bytes } = artifacts[kind];
      await writeFileAtomic(path.join(outDir, file), contents[kind]);
      onEvent({ phase: "image", status: "progress", message: `wrote ${file}`, data: { bytes } });
    }
    const manifest: Manifest = {
      format: "exoform-image-manifest/1",
      imageId,
      artifacts,
      kernel: {
        sourceHash: boot.info.sourceHash,
        kernelBytes: boot.info.kernelBytes,
        kernelSectors: boot.info.kernelSectors,
      },
      config,
      tools,
    };
    const manifestPath = path.join(outDir, "manifest.json");
    await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

    const artifact = ({ file, sha256, bytes }: ManifestArtifact): Artifact => ({
      path: path.join(outDir, file),
      sha256,
      bytes,
    });
    const result: BuildResult = {
      imageId,
      raw: artifact(artifacts.raw),
      vmdk: artifact(artifacts.vmdk),
      gz: artifact(artifacts.gz),
      manifestPath,
      manifest,
    };
    onEvent({
      phase: "image",
      status: "stop",
      message: `${base} (image id ${imageId})`,
      data: {
        imageId,
        rawBytes: raw.length,
        vmdkBytes: artifacts.vmdk.bytes,
        gzBytes: artifacts.gz.bytes,
        ms: Date.now() - started,
      },
    });
    return result;
  } catch (e) {
    onEvent({ phase: "image", status: "error", message: (e as Error).message });
    throw e;
  }
}
