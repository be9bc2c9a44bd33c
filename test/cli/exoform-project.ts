/**
 * A throwaway copy of the exoform project for tests that run the built `bin/exoform`: its own
 * stacks/, file backend, PULUMI_HOME and `.exoform/` working directory, with `dist/` and
 * `node_modules/` linked from the repository. Nothing the tests do touches the real stacks.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot, run, RunResult } from "../helpers/pulumi";

export interface ExoformProject {
  /** The project directory (changes with `move`). */
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Moves the whole project (state, stacks, .exoform) to a new directory, as a user's `mv` would. */
  move(): void;
  /** Writes stacks/Pulumi.<stack>.yaml, keeping the salt Pulumi wrote into an earlier one. */
  writeStack(stack: string, yaml: string): void;
  /** Runs bin/exoform; never throws on a non-zero exit. */
  exoform(args: string[]): Promise<RunResult>;
  /** Runs the real pulumi CLI in the project. */
  pulumi(args: string[]): Promise<RunResult>;
  cleanup(): void;
}

/** The built-in local-only passphrase (scripts/env.sh). */
const LOCAL_PASSPHRASE = "exoform-local-only";

/**
 * A passphrase for test stacks of targets that hold credentials: exoform refuses the built-in
 * one for them (docs/cli.md, "Secrets").
 */
export const TEST_PASSPHRASE = "exoform-test-only-passphrase";

/** The salt of the default local passphrase, so `stack init` leaves the stack file alone. */
const LOCAL_SALT = /^encryptionsalt: .*$/m.exec(
  fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.local.yaml"), "utf8"),
)![0];

export function createExoformProject(name: string): ExoformProject {
  let dir = fs.mkdtempSync(path.join(os.tmpdir(), `exoform-${name}-`));
  fs.copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.symlinkSync(path.join(repoRoot, "dist"), path.join(dir, "dist"));
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.mkdirSync(path.join(dir, ".state"));
  fs.mkdirSync(path.join(dir, ".pulumi-home"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    CI: "1",
  };
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  const pointEnvAt = (d: string) =>
    Object.assign(env, {
      EXOFORM_PROJECT_DIR: d,
      PULUMI_BACKEND_URL: `file://${path.join(d, ".state")}`,
      PULUMI_HOME: path.join(d, ".pulumi-home"),
    });
  pointEnvAt(dir);
  return {
    get dir() {
      return dir;
    },
    env,
    move() {
      const to = `${dir}-moved`;
      fs.renameSync(dir, to);
      dir = to;
      pointEnvAt(dir);
    },
    writeStack: (stack, yaml) => {
      const file = path.join(dir, "stacks", `Pulumi.${stack}.yaml`);
      // The salt Pulumi wrote when it created the stack stays; a new file under the local
      // passphrase gets its committed salt; under another passphrase Pulumi makes one.
      const kept = fs.existsSync(file)
        ? /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0]
        : undefined;
      const salt = kept ?? (env.PULUMI_CONFIG_PASSPHRASE === LOCAL_PASSPHRASE ? LOCAL_SALT : "");
      fs.writeFileSync(file, `${yaml.trim()}\n${salt}\n`);
    },
    exoform: (args) => run(path.join(repoRoot, "bin", "exoform"), args, { cwd: dir, env }),
    pulumi: (args) => run("pulumi", [...args, "--non-interactive"], { cwd: dir, env }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A local stack file: DHCP, the given body, health settings merged in. */
export function localStackYaml(opts: {
  body: string;
  health?: Record<string, number>;
  extra?: string;
}): string {
  const health = Object.entries({ deadlineSeconds: 60, ...opts.health })
    .map(([k, v]) => `    ${k}: ${v}`)
    .join("\n");
  return `config:
  exoform:target: local
  exoform:image:
    hostname: exoform-test
    network:
      mode: dhcp
    http:
      port: 80
      body: ${JSON.stringify(opts.body)}
  exoform:health:
${health}
${opts.extra ?? ""}`;
}

/**
 * A local stack whose instance boots but never answers: a static address outside QEMU
 * user-mode networking's 10.0.2.0/24, so the guest says so on its serial console while the
 * forwarded HTTP port never reaches it. Its health check fails after `deadlineSeconds`.
 */
export function unreachableStackYaml(deadlineSeconds: number): string {
  return `config:
  exoform:target: local
  exoform:image:
    hostname: exoform-test
    network:
      mode: static
      address: 192.168.77.10/24
    http:
      port: 80
      body: "never seen"
  exoform:health:
    deadlineSeconds: ${deadlineSeconds}
  exoform:local:
    network: user`;
}

/** The JSON result line of a `--json` run. */
export function jsonResult(r: RunResult): Record<string, unknown> & { ok: boolean } {
  const line = r.stdout
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.includes('"type":"result"'));
  if (!line) throw new Error(`no JSON result in stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return JSON.parse(line);
}
