/**
 * The local target end to end, for real: the built `exoform` CLI drives the real Pulumi CLI on a
 * file backend, which boots the real image in QEMU and health-checks it.
 *
 *   up → healthy → refresh and a second up change nothing → a new HTTP body rebuilds the image
 *   and replaces the instance, healthy again → a killed QEMU is noticed by refresh and replaced
 *   by up → down leaves no QEMU, namespace or file.
 *   A deployment whose instance never answers fails with the probe, its last error and the
 *   serial log, and is rolled back.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createExoformProject,
  ExoformProject,
  jsonResult,
  localStackYaml,
  unreachableStackYaml,
} from "../cli/exoform-project";

jest.setTimeout(300_000);

/** An instance of the outputs contract with the local target's extras, paths made absolute. */
interface Instance {
  name: string;
  url: string;
  network: "netns" | "user";
  netns?: string;
  pid: number;
  serialLog: string;
  phases: Record<string, number>;
  health: { healthy: boolean; icmp: { status: string }; http: { status: string; build: string } };
}

const isRoot = process.getuid?.() === 0;

function instancesOf(result: Record<string, unknown>, projectDir: string): Instance[] {
  type Raw = Omit<Instance, "network" | "netns" | "pid" | "serialLog"> & {
    extras: Pick<Instance, "network" | "netns" | "pid" | "serialLog">;
  };
  return (result.outputs as { instances: Raw[] }).instances.map(({ extras, ...i }) => ({
    ...i,
    ...extras,
    serialLog: path.resolve(projectDir, extras.serialLog),
  }));
}

function processAlive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("qemu-system");
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function namespaces(prefix: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(prefix));
}

/** Every QEMU process whose command line mentions the project directory. */
function qemusOf(dir: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8");
        return cmd.includes("qemu-system") && cmd.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("local stack, end to end", () => {
  let project: ExoformProject;
  // Namespaces are machine-wide: names unique to this run keep concurrent runs (other
  // checkouts on the same machine) out of each other's assertions.
  const run = process.pid.toString(36);
  const stack = `e2e${run}`;
  const silent = `silent${run}`;
  const moved = `moved${run}`;
  const clone = `clone${run}`;

  beforeAll(() => {
    project = createExoformProject("local-e2e");
  });
  afterAll(async () => {
    if (!project) return;
    await project.exoform(["down", stack, "--yes"]);
    await project.exoform(["down", silent, "--yes"]);
    await project.exoform(["down", clone, "--yes"]);
    // Whatever a failed test left behind must not outlive it.
    for (const pid of qemusOf(project.dir)) process.kill(pid, "SIGKILL");
    project.cleanup();
  });

  test("up, no-op refresh and up, body change replaces, down cleans everything", async () => {
    project.writeStack(stack, localStackYaml({ body: "first body\n" }));
    const up1 = await project.exoform(["up", stack, "--json", "--yes"]);
    expect({ code: up1.code, stderr: up1.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const first = jsonResult(up1);
    const [vm1] = instancesOf(first, project.dir);
    expect(vm1.health.healthy).toBe(true);
    expect(vm1.health.http.status).toBe("passed");
    expect(vm1.health.http.build).toBe((first.outputs as { imageId: string }).imageId);
    expect(vm1.health.icmp.status).toBe(isRoot ? "passed" : "skipped");
    expect(vm1.phases).toEqual({
      build: expect.any(Number),
      create: expect.any(Number),
      firstHttp200: expect.any(Number),
      ...(isRoot && { firstPing: expect.any(Number) }),
    });
    // Plain pulumi sees human lines, never the CLI's structured events.
    const preview = await project.pulumi(["preview", "--stack", stack]);
    expect(preview.code).toBe(0);
    expect(preview.stdout + preview.stderr).not.toContain("exoform-event");
    expect(preview.stdout + preview.stderr).not.toMatch(/\{"phase":/);
    expect(processAlive(vm1.pid)).toBe(true);
    if (isRoot) expect(namespaces(`exoform-${stack}-`)).toEqual([vm1.netns]);
    expect(fs.readFileSync(vm1.serialLog, "utf8")).toContain(
      `exo: kernel ${vm1.health.http.build}`,
    );

    const refresh = await project.pulumi([
      "refresh",
      "--yes",
      "--expect-no-changes",
      "--stack",
      stack,
    ]);
    expect({ code: refresh.code, out: refresh.stdout + refresh.stderr }).toMatchObject({ code: 0 });
    const up2 = await project.exoform(["up", stack, "--json", "--yes"]);
    expect(up2.code).toBe(0);
    expect(jsonResult(up2).changes).toEqual({});
    expect(instancesOf(jsonResult(up2), project.dir)[0].pid).toBe(vm1.pid);

    project.writeStack(stack, localStackYaml({ body: "second body\n" }));
    const up3 = await project.exoform(["up", stack, "--json", "--yes"]);
    expect(up3.code).toBe(0);
    const third = jsonResult(up3);
    const [vm2] = instancesOf(third, project.dir);
    expect((third.outputs as { imageId: string }).imageId).not.toBe(
      (first.outputs as { imageId: string }).imageId,
    );
    expect(vm2.pid).not.toBe(vm1.pid);
    expect(vm2.health.healthy).toBe(true);
    expect(processAlive(vm1.pid)).toBe(false);
    expect(fs.existsSync(path.dirname(vm1.serialLog))).toBe(false);
    if (isRoot) expect(namespaces(`exoform-${stack}-`)).toEqual([vm2.netns]);

    const check = await project.exoform(["check", stack]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`${stack} is healthy`);
    const logs = await project.exoform(["logs", stack]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("exo: kernel");

    // A QEMU that dies is noticed by refresh, shown by status and replaced by the next up.
    process.kill(vm2.pid, "SIGKILL");
    await waitFor(() => !processAlive(vm2.pid));
    const refreshed = await project.pulumi(["refresh", "--yes", "--stack", stack]);
    expect(refreshed.code).toBe(0);
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${vm2.name} .* NOT RUNNING`));
    const up4 = await project.exoform(["up", stack, "--json", "--yes"]);
    expect(up4.code).toBe(0);
    const [vm3] = instancesOf(jsonResult(up4), project.dir);
    expect(vm3.pid).not.toBe(vm2.pid);
    expect(vm3.health.healthy).toBe(true);
    if (isRoot) expect(namespaces(`exoform-${stack}-`)).toEqual([vm3.netns]);

    const down = await project.exoform(["down", stack, "--yes"]);
    expect(down.code).toBe(0);
    expect(processAlive(vm3.pid)).toBe(false);
    expect(qemusOf(project.dir)).toEqual([]);
    if (isRoot) expect(namespaces(`exoform-${stack}-`)).toEqual([]);
    expect(fs.existsSync(path.join(project.dir, ".exoform", "stacks", stack))).toBe(false);
  });

  test("an instance that never answers fails the deployment clearly and is rolled back", async () => {
    project.writeStack(silent, unreachableStackYaml(5));
    const r = await project.exoform(["up", silent, "--yes"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`health check failed for ${silent}-0:`));
    expect(r.stderr).toMatch(
      /http: GET http:\/\/127\.0\.0\.1:\d+\/health did not succeed within 5 s \(last: \w+/,
    );
    expect(r.stderr).toMatch(
      /last lines of the console \(.*serial\.log\):\n(.*\n)*.*exo: ip 192\.168\.77\.10\/24 gw none via static/,
    );
    expect(r.stderr).toMatch(/rollback: nothing of the failed deployment is left running/);
    expect(qemusOf(project.dir)).toEqual([]);
    if (isRoot) expect(namespaces(`exoform-${silent}-`)).toEqual([]);
    const instancesDir = path.join(project.dir, ".exoform", "stacks", silent, "instances");
    expect(fs.existsSync(instancesDir) ? fs.readdirSync(instancesDir) : []).toEqual([]);
  });

  test("a project moved after deploying: down from the new place stops the VM", async () => {
    project.writeStack(moved, localStackYaml({ body: "moved\n" }));
    const up = await project.exoform(["up", moved, "--json", "--yes"]);
    expect(up.code).toBe(0);
    const [vm] = instancesOf(jsonResult(up), project.dir);
    expect(processAlive(vm.pid)).toBe(true);
    const before = project.dir;
    project.move();
    expect(fs.existsSync(before)).toBe(false);
    // The state names the old place nowhere the provider needs it.
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${moved}-0 .* running`));
    const down = await project.exoform(["down", moved, "--yes"]);
    expect({ code: down.code, stderr: down.stderr }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    await waitFor(() => !processAlive(vm.pid));
    expect(qemusOf(before)).toEqual([]);
    if (isRoot) expect(namespaces(`exoform-${moved}-`)).toEqual([]);
  });

  test("a fresh clone (no .exoform/stacks files) still stops the VM the state knows, user networking too", async () => {
    project.writeStack(
      clone,
      localStackYaml({ body: "clone\n", extra: "  exoform:local:\n    network: user" }),
    );
    const up = await project.exoform(["up", clone, "--json", "--yes"]);
    expect(up.code).toBe(0);
    const [vm] = instancesOf(jsonResult(up), project.dir);
    expect(processAlive(vm.pid)).toBe(true);
    // What a new checkout sharing the backend looks like: no pidfile, no serial log, no images.
    fs.rmSync(path.join(project.dir, ".exoform", "stacks", clone), { recursive: true });
    const status = await project.exoform(["status"]);
    expect(status.stdout).toMatch(new RegExp(`${clone}-0 .* running`));
    const down = await project.exoform(["down", clone, "--yes"]);
    expect(down.code).toBe(0);
    await waitFor(() => !processAlive(vm.pid));
  });
});
