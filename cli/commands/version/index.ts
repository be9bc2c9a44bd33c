/** `exoform --version`: exoform's version, and the Pulumi CLI and Node it runs with. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** `exoform 0.1.0 (pulumi v3.259.0, node v24.21.0)`; "pulumi ?" when the CLI cannot run. */
export function versionLine(): string {
  const pkg = JSON.parse(
    fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "..", "package.json"), "utf8"),
  ) as { version: string };
  let pulumi = "?";
  try {
    pulumi = execFileSync("pulumi", ["version"], { encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    // not installed yet: the bootstrap builds it
  }
  return `exoform ${pkg.version} (pulumi ${pulumi}, node ${process.version})`;
}
