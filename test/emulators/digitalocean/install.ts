/**
 * Installs the emulated `digitalocean` provider plugin into a test's own PULUMI_HOME, where the
 * engine looks for it: `plugins/resource-digitalocean-v4.80.1/pulumi-resource-digitalocean`
 * (pulumi `sdk/go/common/workspace/plugins.go` getPluginInfoAndPath: PATH first, then the
 * plugin cache; a directory with a `<dir>.partial` file beside it is skipped, and no lock file
 * or PulumiPlugin.yaml is needed when the directory holds an executable of that name:
 * `pkg/resource/plugin/plugin.go` execPlugin).
 *
 * The plugin process cannot use ts-jest, so the emulator is compiled to JavaScript here, into the
 * plugin directory itself (`js/`, the repository's layout below it), with the repository's
 * TypeScript and `--noCheck`: a plain transpile that follows the imports (infra/targets/local, lib).
 * Type checking is `npm run typecheck`'s job (tsconfig.json includes test/) and ts-jest's for
 * the modules the unit tests import. A `node_modules` link in the plugin directory lets the
 * compiled code resolve `@pulumi/pulumi`. The executable is a shell script that runs this Node
 * (24) on the compiled entry point. Nothing lands in the repository or in dist/.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROVIDER_VERSION } from "./schema";

const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** The version `@pulumi/digitalocean` asks the engine for (its package.json `pulumi.version`). */
export function requestedPluginVersion(): string {
  const pkg = JSON.parse(
    fs.readFileSync(
      path.join(repoRoot, "node_modules", "@pulumi", "digitalocean", "package.json"),
      "utf8",
    ),
  ) as { pulumi: { name: string; version: string } };
  return pkg.pulumi.version;
}

/** Compiles and installs the plugin; returns its directory. */
export function installDoEmulatorPlugin(pulumiHome: string): string {
  const version = requestedPluginVersion();
  if (version !== PROVIDER_VERSION)
    throw new Error(
      `@pulumi/digitalocean asks for plugin v${version}, the emulator implements v${PROVIDER_VERSION}`,
    );
  const dir = path.join(pulumiHome, "plugins", `resource-digitalocean-v${version}`);
  fs.rmSync(`${dir}.partial`, { force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, "js");
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
      ...["--outDir", out, "--rootDir", repoRoot],
      ...["--module", "commonjs", "--target", "ES2022", "--moduleResolution", "node"],
      ...["--esModuleInterop", "--skipLibCheck", "--noCheck", "--types", "node", "--sourceMap"],
      path.join(__dirname, "main.ts"),
    ],
    { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
  );
  const link = path.join(dir, "node_modules");
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(repoRoot, "node_modules"), link);
  const entry = path.join(out, path.relative(repoRoot, __dirname), "main.js");
  const bin = path.join(dir, "pulumi-resource-digitalocean");
  fs.writeFileSync(bin, `#!/bin/sh\nexec '${process.execPath}' '${entry}' "$@"\n`, { mode: 0o755 });
  return dir;
}
