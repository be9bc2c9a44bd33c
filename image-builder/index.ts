/**
 * The image builder's public API (infra/ and cli/ code against this file only):
 * validate an ImageConfig, build the kernel, and write the raw disk, its streamOptimized VMDK,
 * its gzip and manifest.json, all named by the image id. Formats: docs/image-format.md.
 * The pieces (kernel build, config block, raw disk) are exported too, for the kernel's tests
 * and benchmark, which boot raw disks with hand-made configuration blocks.
 */
export {
  DEFAULT_CONTENT_TYPE,
  DEFAULT_HTTP_BODY,
  describeConfigIssue,
  ImageConfigSchema,
  loadImageConfigFile,
  parseImageConfig,
} from "./config";
export type { ImageConfig, ImageConfigInput } from "./config";
export { ImageBuildError, ImageConfigError } from "./errors";
export type { ConfigProblem } from "./errors";
export { artifactBaseName, buildImage } from "./build";
export type { Artifact, BuildImageOptions, BuildResult, Manifest, ManifestArtifact } from "./build";
export { formatBuildResult, formatBytes } from "./format";
export { buildKernel, defaultKernelDir, readBootSoftware } from "./kernel";
export type { BootSoftwareInfo, ToolVersions } from "./kernel";
export { assembleRawDisk, imageIdOf } from "./disk";
export type { BootSoftware } from "./disk";
export { BUILD_ID_OFFSET_IN_BLOCK, configBlockFromPayload } from "./config-block";
