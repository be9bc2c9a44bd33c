/**
 * Issue 10's faults, injected for real through the built CLI, each followed by a check that
 * nothing of the stack is left: no QEMU, dnsmasq or namespace, no lock, no engine helper, no file.
 *
 *   1. stack names that point outside `.exoform/stacks/<stack>/`;
 *   2. Ctrl-C (SIGINT to the CLI's process group) during `up`; a stale and a live lock;
 *   3. `kill -9` of the CLI's process group while 8 instances are created; `.exoform/` (with the
 *      state) deleted by hand while an instance runs;
 *   5. broken stack files, before and after deploying;
 *   6. `up --keep-failed` instances in `status` and `logs`;
 *   7. secrets in messages and in the daemons' environment; the built-in passphrase;
 *   8. `bin/exoform` before the first bootstrap.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot, run } from "../helpers/pulumi";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  localStackYaml,
  unreachableStackYaml,
} from "./exoform-project";

jest.setTimeout(300_000);

const isRoot = process.getuid?.() === 0;

/**
 * The stacks that make instances, with names unique to this run: namespaces are machine-wide,
 * so concurrent runs (other checkouts on the same machine) stay out of each other's checks.
 */
const RUN = process.pid.toString(36);
const S = {
  crash: `crash${RUN}`,
  intr: `intr${RUN}`,
  gone: `gone${RUN}`,
  kept: `kept${RUN}`,
  late: `late${RUN}`,
};

/** Live (non-zombie) processes whose command line or environment passes `match`. */
function processesWhere(where: "cmdline" | "environ", match: (text: string) => boolean): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${p}/stat`, "utf8"))) return false;
        return match(fs.readFileSync(`/proc/${p}/${where}`, "utf8"));
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const qemusOf = (dir: string) =>
  processesWhere("cmdline", (c) => c.startsWith("qemu-system") && c.includes(dir));
const dnsmasqsOf = (dir: string) =>
  processesWhere("cmdline", (c) => c.includes("dnsmasq") && c.includes(dir));
/** Engine helpers (pulumi, language host, dynamic providers) of the project. */
const helpersOf = (dir: string) =>
  processesWhere("environ", (e) => e.includes(`EXOFORM_PROJECT_DIR=${dir}\0`));

function namespaces(prefix: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(prefix));
}

function lockFiles(project: ExoformProject): string[] {
  const dir = path.join(
    project.env.PULUMI_BACKEND_URL!.slice("file://".length),
    ".pulumi",
    "locks",
  );
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Nothing of `stack` is left: processes, namespaces, locks, helpers, working files. */
function expectNothingLeft(project: ExoformProject, stack: string): void {
  expect(qemusOf(project.dir)).toEqual([]);
  expect(dnsmasqsOf(project.dir)).toEqual([]);
  if (isRoot) expect(namespaces(`exoform-${stack}-`)).toEqual([]);
  expect(lockFiles(project)).toEqual([]);
  expect(helpersOf(project.dir)).toEqual([]);
  expect(fs.existsSync(path.join(project.dir, ".exoform", "stacks", stack))).toBe(false);
}

/** `bin/exoform <args>` in its own process group (as a shell runs a foreground job). */
function spawnExoform(project: ExoformProject, args: string[]) {
  const child = spawn(path.join(repoRoot, "bin", "exoform"), args, {
    cwd: project.dir,
    env: project.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => resolve(code)),
  );
  /** Sends `signal` to the whole process group, as a terminal (Ctrl-C) or `kill -9 -<pgid>` does. */
  const signalGroup = (signal: NodeJS.Signals) => process.kill(-child.pid!, signal);
  /** Waits until `n` QEMUs of the project run; on a timeout kills the group and fails. */
  const waitForQemus = (n: number) =>
    waitFor(() => qemusOf(project.dir).length >= n, 120_000, `${n} QEMU(s)`).catch((e: Error) => {
      signalGroup("SIGKILL");
      throw new Error(`${e.message}\n${stderr}`);
    });
  return { exited, stderr: () => stderr, signalGroup, waitForQemus };
}

function eightYaml(stack: string): string {
  return localStackYaml({ body: `${stack}\n`, extra: "  exoform:instances: 8" });
}

describe("faults injected through the real CLI", () => {
  let project: ExoformProject;
  const stacks = Object.values(S);

  beforeAll(() => {
    project = createExoformProject("faults");
  });
  afterAll(async () => {
    if (!project) return;
    for (const s of stacks) await project.exoform(["down", s, "--yes"]);
    for (const pid of [...qemusOf(project.dir), ...helpersOf(project.dir)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    project.cleanup();
  });

  test("1: stack names outside .exoform/stacks/ are refused before anything is removed", async () => {
    project.writeStack("named", localStackYaml({ body: "x" }));
    fs.mkdirSync(path.join(project.dir, ".exoform", "stacks"), { recursive: true });
    const marker = path.join(project.dir, ".exoform", "keep-me");
    fs.writeFileSync(marker, "");
    for (const args of [
      ["down", ".."],
      ["down", "../.."],
      ["down", "-s", "."],
      ["up", "a/b"],
    ]) {
      const r = await project.exoform([...args, "--yes"]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/is not a stack name: a stack name may/);
    }
    expect(fs.existsSync(marker)).toBe(true);
    expect(fs.existsSync(path.join(project.dir, "Pulumi.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(project.dir, "stacks", "Pulumi.named.yaml"))).toBe(true);
  });

  test("5: broken stack files are exit 2 with the line, and leave no stack in the backend", async () => {
    fs.writeFileSync(
      path.join(project.dir, "stacks", "Pulumi.typo.yaml"),
      "configg:\n  exoform:target: local\n",
    );
    fs.writeFileSync(
      path.join(project.dir, "stacks", "Pulumi.syntax.yaml"),
      "config:\n  exoform:target: local\n  exoform:instances: [1\n",
    );
    fs.mkdirSync(path.join(project.dir, "stacks", "Pulumi.folder.yaml"));
    const expected: Record<string, RegExp> = {
      typo: /stacks\/Pulumi\.typo\.yaml: line 1: unknown top-level key "configg" \(did you mean config\?\)/,
      syntax: /stacks\/Pulumi\.syntax\.yaml: line \d+: YAML syntax error: /,
      folder: /stacks\/Pulumi\.folder\.yaml: is not a file/,
    };
    for (const [stack, message] of Object.entries(expected)) {
      const r = await project.exoform(["up", stack, "--yes"]);
      expect({ stack, code: r.code }).toEqual({ stack, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const stacksDir = path.join(project.dir, ".state", ".pulumi", "stacks", "exoform");
    const inBackend = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : [];
    expect(inBackend.filter((f) => /typo|syntax|folder/.test(f))).toEqual([]);
    fs.rmSync(path.join(project.dir, "stacks", "Pulumi.folder.yaml"), { recursive: true });
  });

  test("3: kill -9 of the CLI while 8 instances are created: down sweeps every one", async () => {
    project.writeStack(S.crash, eightYaml(S.crash));
    const up = spawnExoform(project, ["up", S.crash, "--yes"]);
    await up.waitForQemus(3);
    up.signalGroup("SIGKILL");
    await up.exited;
    // The engine's helpers (own process groups) do not outlive the CLI: its watchdog kills them.
    await waitFor(() => helpersOf(project.dir).length === 0, 5000, "the engine helpers to end");
    expect(lockFiles(project).length).toBeGreaterThan(0);
    // QEMU got a scrubbed environment: no passphrase, no run tag.
    for (const pid of qemusOf(project.dir)) {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
      expect(env).not.toContain("PULUMI_CONFIG_PASSPHRASE");
      expect(env).not.toContain("EXOFORM_RUN");
    }
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${S.crash}-\\d-[0-9a-f]{8} .*ORPHANED`));
    const down = await project.exoform(["down", S.crash, "--yes"]);
    expect({ code: down.code, stderr: down.stderr }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    expect(down.stderr).toMatch(new RegExp(`removed a stale lock of ${S.crash}`));
    expect(down.stderr).toMatch(/pending operation\(s\) of an interrupted update/);
    expect(down.stderr).toMatch(/swept \d instance\(s\)/);
    expectNothingLeft(project, S.crash);
  });

  test("2: Ctrl-C during up cancels gracefully (exit 8), releases the lock, leaves no helper", async () => {
    project.writeStack(S.intr, eightYaml(S.intr));
    const up = spawnExoform(project, ["up", S.intr, "--yes"]);
    await up.waitForQemus(1);
    up.signalGroup("SIGINT"); // what a terminal's Ctrl-C does
    const code = await up.exited;
    expect({ code, stderr: up.stderr() }).toEqual({ code: 8, stderr: expect.any(String) });
    expect(up.stderr()).toMatch(/interrupted/);
    expect(lockFiles(project)).toEqual([]);
    expect(helpersOf(project.dir)).toEqual([]);
    const down = await project.exoform(["down", S.intr, "--yes"]);
    expect(down.code).toBe(0);
    expectNothingLeft(project, S.intr);
  });

  test("2: a stale lock is cleared with a line; a live one is exit 10 until exoform cancel", async () => {
    project.writeStack("locked", localStackYaml({ body: "x" }));
    expect((await project.pulumi(["stack", "init", "locked"])).code).toBe(0);
    const lockDir = path.join(
      project.dir,
      ".state",
      ".pulumi",
      "locks",
      "organization",
      "exoform",
      "locked",
    );
    fs.mkdirSync(lockDir, { recursive: true });
    const lock = (pid: number) =>
      JSON.stringify({
        pid,
        username: "root",
        hostname: os.hostname(),
        timestamp: new Date().toISOString(),
      });
    fs.writeFileSync(path.join(lockDir, "dead.json"), lock(2 ** 22 + 1));
    const stale = await project.exoform(["refresh", "locked", "--yes"]);
    expect(stale.stderr).toMatch(/removed a stale lock of locked: its update \(pid 4194305/);
    expect(stale.code).toBe(0);
    // A live "pulumi": a sleep whose program name says pulumi.
    const fake = path.join(project.dir, "pulumi-fake");
    fs.symlinkSync("/bin/sleep", fake);
    const sleeper = spawn(fake, ["600"], { stdio: "ignore" });
    try {
      fs.writeFileSync(path.join(lockDir, "live.json"), lock(sleeper.pid!));
      const locked = await project.exoform(["up", "locked", "--yes"]);
      expect(locked.code).toBe(10);
      expect(locked.stderr).toMatch(/locked is locked by a running update .*exoform cancel locked/);
      const cancel = await project.exoform(["cancel", "locked", "--yes"]);
      expect({ code: cancel.code, stderr: cancel.stderr }).toEqual({ code: 0, stderr: "" });
      expect(cancel.stdout).toMatch(/asked the running update of locked to cancel/);
      expect(lockFiles(project)).toEqual([]);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  test("3: .exoform/ deleted by hand with an instance running: status shows it, up replaces it", async () => {
    // The state lives inside .exoform/ here, as in a checkout with the default backend.
    const other = createExoformProject(S.gone);
    other.env.PULUMI_BACKEND_URL = `file://${path.join(other.dir, ".exoform", "state")}`;
    try {
      other.writeStack(S.gone, localStackYaml({ body: "gone\n" }));
      const up1 = await other.exoform(["up", S.gone, "--yes", "--json"]);
      expect(up1.code).toBe(0);
      const [first] = qemusOf(other.dir);
      expect(first).toBeDefined();
      fs.rmSync(path.join(other.dir, ".exoform"), { recursive: true, force: true });
      const status = await other.exoform(["status"]);
      expect(status.stdout).toMatch(
        new RegExp(`${S.gone}: not deployed\\n {2}${S.gone}-0-[0-9a-f]{8} .*ORPHANED`),
      );
      const up2 = await other.exoform(["up", S.gone, "--yes"]);
      expect(up2.code).toBe(0);
      expect(up2.stderr).toMatch(
        new RegExp(`swept 1 instance\\(s\\) of ${S.gone} that the state does not own`),
      );
      const qemus = qemusOf(other.dir);
      expect(qemus).toHaveLength(1);
      expect(qemus).not.toContain(first);
      const down = await other.exoform(["down", S.gone, "--yes"]);
      expect(down.code).toBe(0);
      expect(down.stdout).toMatch(new RegExp(`${S.gone} is down`));
      expectNothingLeft(other, S.gone);
    } finally {
      await other.exoform(["down", S.gone, "--yes"]);
      other.cleanup();
    }
  });

  test("6 and 5: a kept failed up shows in status and logs; down works with its file broken", async () => {
    project.writeStack(S.kept, unreachableStackYaml(3));
    const up = await project.exoform(["up", S.kept, "--yes", "--keep-failed"]);
    expect(up.code).toBe(4);
    expect(up.stderr).toMatch(/kept for debugging/);
    expect(qemusOf(project.dir)).toHaveLength(1);
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${S.kept}-0-[0-9a-f]{8} .*kept from a failed up`));
    const logs = await project.exoform(["logs", S.kept]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("exo: ip 192.168.77.10/24");
    fs.writeFileSync(path.join(project.dir, "stacks", `Pulumi.${S.kept}.yaml`), "configg: [\n");
    const broken = await project.exoform(["status"]);
    expect(broken.stdout).toMatch(
      new RegExp(
        `${S.kept}: .*\\n {2}! stacks/Pulumi\\.${S.kept}\\.yaml: line \\d+: YAML syntax error`,
      ),
    );
    const down = await project.exoform(["down", S.kept, "--yes"]);
    expect({ code: down.code, stderr: down.stderr }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    expect(down.stdout).toMatch(new RegExp(`${S.kept} is down: [1-9]\\d* resource\\(s\\) deleted`));
    expectNothingLeft(project, S.kept);
  });

  test("4: a changed threshold re-runs the check long after creation, and it passes", async () => {
    project.writeStack(S.late, localStackYaml({ body: "late\n", health: { deadlineSeconds: 5 } }));
    const up1 = await project.exoform(["up", S.late, "--yes", "--json"]);
    expect(up1.code).toBe(0);
    const [pid] = qemusOf(project.dir);
    // Longer than the deadline after the instance was created: a deadline counted from the
    // creation would fail the new check at once.
    await new Promise((r) => setTimeout(r, 7000));
    project.writeStack(
      S.late,
      localStackYaml({ body: "late\n", health: { deadlineSeconds: 5, httpCount: 4 } }),
    );
    const up2 = await project.exoform(["up", S.late, "--yes", "--json"]);
    expect({ code: up2.code, stderr: up2.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(up2.stdout).toMatch(/"phase":"health","status":"stop","message":"[^"]*healthy/);
    expect(Object.keys(jsonResult(up2).changes as object).length).toBeGreaterThan(0);
    expect(qemusOf(project.dir)).toEqual([pid]);
    const outputs = await project.exoform(["outputs", "-s", S.late, "--json"]);
    expect(outputs.code).toBe(0);
    expect(jsonResult(outputs).outputs).toMatchObject({
      target: "local",
      instances: [{ name: `${S.late}-0`, health: { healthy: true } }],
    });
    expect((await project.exoform(["outputs", S.late])).stdout).toMatch(/^target: {3}local$/m);
    expect((await project.exoform(["down", S.late, "--yes"])).code).toBe(0);
    expectNothingLeft(project, S.late);
  });

  test("7: a secure value is masked in messages and --json", async () => {
    project.writeStack(
      "sec",
      localStackYaml({ body: "x" }).replace("  exoform:target: local\n", ""),
    );
    expect((await project.pulumi(["stack", "init", "sec"])).code).toBe(0);
    const set = await project.pulumi([
      "config",
      "set",
      "--secret",
      "exoform:target",
      "hunter2-very-secret",
      "-s",
      "sec",
    ]);
    expect(set.code).toBe(0);
    const r = await project.exoform(["up", "sec", "--yes", "--json"]);
    expect(r.code).toBe(2);
    expect(jsonResult(r).error).toMatch(/exoform:target: "\[secret\]" is not a target/);
    expect(r.stdout + r.stderr).not.toContain("hunter2-very-secret");
  });

  test("7: a stack of a target that holds credentials refuses the built-in passphrase", async () => {
    const remote = path.join(project.dir, "remote-target.js");
    fs.writeFileSync(
      remote,
      `const { target } = require(${JSON.stringify(path.join(repoRoot, "test", "infra", "fixtures", "loopback-target.js"))});\n` +
        `exports.target = { ...target, name: "remote", localOnly: false };\n`,
    );
    const env = { ...project.env, EXOFORM_TARGET_MODULES: remote, EXOFORM_REPO: repoRoot };
    project.writeStack("cloudy", "config:\n  exoform:target: remote");
    const r = await run(path.join(repoRoot, "bin", "exoform"), ["up", "cloudy", "--yes"], {
      cwd: project.dir,
      env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /public built-in passphrase; set your own: export PULUMI_CONFIG_PASSPHRASE=/,
    );
  });

  test("8: bin/exoform before the first bootstrap: one line, no stack trace", async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "exoform-fresh-"));
    try {
      fs.mkdirSync(path.join(fresh, "bin"));
      fs.mkdirSync(path.join(fresh, "scripts"));
      fs.copyFileSync(path.join(repoRoot, "bin", "exoform"), path.join(fresh, "bin", "exoform"));
      for (const f of ["env.sh", "pulumi-version"])
        fs.copyFileSync(path.join(repoRoot, "scripts", f), path.join(fresh, "scripts", f));
      const r = await run(path.join(fresh, "bin", "exoform"), ["status"], { cwd: fresh });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^exoform: not set up yet: run `npm run bootstrap`/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });
});
