/** The build result as the CLI prints it for humans. */
import type { BuildResult } from "./build";

/** 1536 → "1.5 KiB"; bytes below 1 KiB as they are. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * One line per artefact (kind, path, size), then the manifest and the image id:
 *
 *   raw       /…/exoform-3f2a9c01d4e5.raw       2.0 MiB (2097152 bytes)
 *   …
 *   image id  3f2a9c01d4e5…(64 hex digits)
 */
export function formatBuildResult(r: BuildResult): string {
  const rows: [string, string, string][] = [
    ["raw", r.raw.path, `${formatBytes(r.raw.bytes)} (${r.raw.bytes} bytes)`],
    ["vmdk", r.vmdk.path, `${formatBytes(r.vmdk.bytes)} (${r.vmdk.bytes} bytes)`],
    ["raw.gz", r.gz.path, `${formatBytes(r.gz.bytes)} (${r.gz.bytes} bytes)`],
    ["manifest", r.manifestPath, ""],
  ];
  const pathWidth = Math.max(...rows.map(([, p]) => p.length));
  return [
    ...rows.map(([kind, p, size]) =>
      `${kind.padEnd(10)}${p.padEnd(pathWidth + 2)}${size}`.trimEnd(),
    ),
    `${"image id".padEnd(10)}${r.imageId}`,
  ].join("\n");
}
