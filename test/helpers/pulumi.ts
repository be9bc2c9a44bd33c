/**
 * A harness that runs the real Pulumi CLI against a throwaway project on a file backend.
 * Each project gets its own temp dir, state backend and PULUMI_HOME; cleanup() removes them.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PulumiProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `pulumi <args>` in the project; never throws on a non-zero exit. */
  pulumi(args: string[]): Promise<RunResult>;
  /** Like pulumi(), but throws with the CLI's output when it exits non-zero. */
  pulumiOk(args: string[]): Promise<RunResult>;
  cleanup(): void;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // A command that exits before reading its input closes the pipe (EPIPE): not our failure.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * Creates a Pulumi project whose program is `programJs` (CommonJS source; it can
 * `require("@pulumi/pulumi")`, resolved from the repository's node_modules), with stack `stack`
 * selected.
 */
export async function createPulumiProject(opts: {
  name: string;
  programJs: string;
  stack?: string;
}): Promise<PulumiProject> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exoform-${opts.name}-`));
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${opts.name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n`,
  );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: opts.name, main: "index.js" }),
  );
  fs.writeFileSync(path.join(dir, "index.js"), opts.programJs);
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
  fs.mkdirSync(path.join(dir, ".state"));
  fs.mkdirSync(path.join(dir, ".pulumi-home"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
    PULUMI_HOME: path.join(dir, ".pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: "test-only-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  const pulumi = (args: string[]) =>
    run("pulumi", [...args, "--non-interactive"], { cwd: dir, env });
  const pulumiOk = async (args: string[]) => {
    const r = await pulumi(args);
    if (r.code !== 0) {
      throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    return r;
  };
  await pulumiOk(["stack", "init", opts.stack ?? "test"]);
  return {
    dir,
    env,
    pulumi,
    pulumiOk,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
