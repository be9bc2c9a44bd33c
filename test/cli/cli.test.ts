/**
 * The built `exoform` binary: exit codes and stderr for the failures a user meets before any
 * instance starts. The exit-code table is pinned here against cli/exit-codes.ts and docs/cli.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ExitCode } from "../../cli/exit-codes";
import { repoRoot, run } from "../helpers/pulumi";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  localStackYaml,
} from "./exoform-project";

describe("exit codes", () => {
  test("the table is Pulumi's taxonomy, and docs/cli.md documents exactly it", () => {
    expect(ExitCode).toEqual({
      Ok: 0,
      Error: 1,
      Config: 2,
      Auth: 3,
      Deployment: 4,
      Cancelled: 8,
      Locked: 10,
    });
    const doc = fs.readFileSync(path.join(repoRoot, "docs", "cli.md"), "utf8");
    const rows = [...doc.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    expect(rows).toEqual([0, 1, 2, 3, 4, 8, 10]);
  });
});

describe("exoform CLI (built binary)", () => {
  let project: ExoformProject;

  beforeAll(() => {
    project = createExoformProject("cli");
    project.writeStack("good", localStackYaml({ body: "hi\n" }));
    project.writeStack(
      "bad",
      `config:
  exoform:target: local
  exoform:instances: 0
  exoform:image:
    hostname: exoform-test
    network:
      mode: dhcp
    http:
      port: 99999
      body: ""
  exoform:colour: blue`,
    );
    project.writeStack(
      "ocean",
      localStackYaml({ body: "x" }).replace("exoform:target: local", "exoform:target: vmware"),
    );
  });
  afterAll(() => project?.cleanup());

  test("no command: usage on stdout, exit 2", async () => {
    const r = await project.exoform([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^usage: exoform <command>/);
    for (const cmd of [
      "build",
      "preview",
      "up",
      "check",
      "logs",
      "outputs",
      "refresh",
      "down",
      "cancel",
      "status",
      "pulumi",
    ])
      expect(r.stdout).toContain(`  ${cmd}`);
  });

  test("--help: exit 0", async () => {
    expect((await project.exoform(["--help"])).code).toBe(0);
    const r = await project.exoform(["up", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("usage: exoform up [stack]");
  });

  test("unknown command and unknown flag: exit 2 with the reason on stderr", async () => {
    const a = await project.exoform(["launch"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "launch"');
    const b = await project.exoform(["up", "local", "--turbo"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/Unknown option '--turbo'/);
    expect(b.stderr).not.toMatch(/\n\s+at /); // no stack trace without DEBUG
  });

  test("a stack without a stack file: exit 2 naming the file and the known stacks", async () => {
    const r = await project.exoform(["up", "nosuch", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "no stack file stacks/Pulumi.nosuch.yaml (stacks: bad, good, ocean)",
    );
  });

  test("an invalid stack file: exit 2 naming the file and every bad field", async () => {
    const r = await project.exoform(["up", "bad", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stacks/Pulumi.bad.yaml: invalid stack configuration");
    expect(r.stderr).toContain("exoform:instances:");
    expect(r.stderr).toContain("exoform:image.http.port:");
    expect(r.stderr).toContain("exoform:colour: unknown setting");
  });

  test("a target that does not exist: exit 2, nothing deployed", async () => {
    const r = await project.exoform(["up", "ocean", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'stacks/Pulumi.ocean.yaml: invalid stack configuration:\n  line 2: exoform:target: "vmware" is not a target (targets: local, digitalocean, proxmox)',
    );
  });

  test("a passphrase that does not match the stack file's salt: exit 3", async () => {
    // "good" is not in the backend yet: creating it needs the secrets manager, which refuses.
    const env = { ...project.env, PULUMI_CONFIG_PASSPHRASE: "not-the-right-one" };
    const r = await run(path.join(repoRoot, "bin", "exoform"), ["up", "good", "--yes"], {
      cwd: project.dir,
      env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/incorrect passphrase/);
  });

  test("check and logs of a stack that is not deployed: exit 4", async () => {
    const r = await project.exoform(["check", "good"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("good has no deployed instances (run: exoform up good)");
    expect((await project.exoform(["logs", "good"])).code).toBe(4);
  });

  test("--json: a failure is a JSON result on stdout and the message on stderr", async () => {
    const r = await project.exoform(["up", "nosuch", "--json", "--yes"]);
    expect(r.code).toBe(2);
    expect(jsonResult(r)).toMatchObject({ type: "result", command: "up", ok: false, exitCode: 2 });
    expect(r.stderr).toContain("no stack file");
  });

  test("build --config with an invalid file: exit 2 naming the file and the field", async () => {
    const file = path.join(project.dir, "bad-image.json");
    fs.writeFileSync(file, JSON.stringify({ http: { port: 0 } }));
    const r = await project.exoform(["build", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: invalid image configuration: http.port:`);
  });

  test("build --config --out: the artefacts named by the image id, listed in --json", async () => {
    const file = path.join(project.dir, "image.json");
    fs.writeFileSync(file, JSON.stringify({ http: { body: "built by the CLI test\n" } }));
    const out = path.join(project.dir, "artefacts");
    const r = await project.exoform(["build", "--config", file, "--out", out, "--json"]);
    expect(r.code).toBe(0);
    const result = jsonResult(r) as unknown as { imageId: string; raw: { path: string } };
    expect(result.imageId).toMatch(/^[0-9a-f]{64}$/);
    expect(path.dirname(result.raw.path)).toBe(out);
    expect(fs.readdirSync(out).sort()).toEqual(
      [
        "manifest.json",
        ...[".raw", ".raw.gz", ".vmdk"].map((e) => `exoform-${result.imageId.slice(0, 12)}${e}`),
      ].sort(),
    );
  });

  test("status lists every stack file", async () => {
    const r = await project.exoform(["status", "--json"]);
    expect(r.code).toBe(0);
    const names = (jsonResult(r).stacks as { name: string }[]).map((s) => s.name);
    expect(names).toEqual(["bad", "good", "ocean"]);
  });

  test("--version names exoform, pulumi and node", async () => {
    const r = await project.exoform(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^exoform \d+\.\d+\.\d+ \(pulumi v3\.\d+\.\d+, node v\d+/);
  });

  test("up and down without a terminal and without --yes: exit 2 before anything, as pulumi", async () => {
    for (const cmd of ["up", "down", "refresh"]) {
      const r = await project.exoform([cmd, "good"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 2 });
      expect(r.stderr).toContain(
        "--yes must be passed in to proceed when running in non-interactive mode",
      );
    }
  });

  test("preview -s: the plan, nothing created; outputs of an undeployed stack: exit 4", async () => {
    const r = await project.exoform(["preview", "-s", "good"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(r.stdout).toMatch(/^good: \d+ to create/);
    expect(r.stdout).toMatch(/\+ {2}create vm-0-qemu \(dynamic:QemuVm\)/);
    expect(fs.existsSync(path.join(project.dir, ".exoform", "stacks", "good", "instances"))).toBe(
      false,
    );
    const two = await project.exoform(["preview", "good", "-s", "bad"]);
    expect(two.code).toBe(2);
    const outputs = await project.exoform(["outputs", "--stack", "good", "--json"]);
    expect(outputs.code).toBe(4);
  });

  test("exoform pulumi runs the project's pulumi with its settings; cancel of an unlocked stack", async () => {
    const r = await project.exoform(["pulumi", "stack", "ls", "--json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name)).toContain("good");
    const cancel = await project.exoform(["cancel", "good"]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain("good is not locked: nothing to cancel");
  });

  test("on a terminal, up shows the plan and asks; no is exit 8 with nothing changed", async () => {
    // `script` gives the CLI a pseudo-terminal, as a user's shell would.
    const env = { ...project.env };
    delete env.CI;
    const bin = path.join(repoRoot, "bin", "exoform");
    const r = await run("script", ["-qec", `${bin} up good`, "/dev/null"], {
      cwd: project.dir,
      env,
      input: "n\n",
    });
    expect(r.code).toBe(8);
    expect(r.stdout).toMatch(/good: \d+ to create/);
    expect(r.stdout).toMatch(/Do you want to perform this update of good\?/);
    expect(r.stdout).toContain("cancelled: nothing was changed");
    expect(fs.existsSync(path.join(project.dir, ".exoform", "stacks", "good", "instances"))).toBe(
      false,
    );
  });

  test("refresh needs a usable stack file: a missing one is not recreated, a broken one names its line", async () => {
    const missing = await project.exoform(["refresh", "gone", "--yes"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no stack file stacks/Pulumi.gone.yaml");
    expect(fs.existsSync(path.join(project.dir, "stacks", "Pulumi.gone.yaml"))).toBe(false);
    fs.writeFileSync(
      path.join(project.dir, "stacks", "Pulumi.broken.yaml"),
      "config:\n  exoform:target: [local\n",
    );
    const broken = await project.exoform(["refresh", "broken", "--yes"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/stacks\/Pulumi\.broken\.yaml: line \d+: YAML syntax error/);
    fs.rmSync(path.join(project.dir, "stacks", "Pulumi.broken.yaml"));
  });
});
